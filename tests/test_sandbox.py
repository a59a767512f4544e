"""The extraction sandbox's time limit is the document's own: starting a fresh child process (after
a timeout killed the previous one) is not charged to the next document."""

from __future__ import annotations

import os

import pytest

from corpus.extract.sandbox import Sandbox, SandboxTimeout


def test_a_fresh_child_does_not_spend_the_first_calls_time_limit():
    """Python start-up plus importing trafilatura takes far longer than 0.2 s; the call itself
    takes microseconds, so it must succeed on a fresh child."""
    box = Sandbox()
    try:
        assert box.call(len, ("abc",), 0.2) == 3
        with pytest.raises(SandboxTimeout):
            box.call(os.system, ("sleep 5",), 0.2)
        assert box.call(len, ("abcd",), 0.2) == 4  # the killed child's successor starts outside the limit too
    finally:
        box.close()
