"""A wall-clock limit for one extraction call.

trafilatura has no timeout of its own and large statutes take seconds; a page that takes too long
must become a rejection with a reason, never a hung worker. SIGALRM only works in a process's
main thread (where Ray runs task code); elsewhere the limit cannot be enforced and is skipped.

The timeout derives from BaseException and is also re-raised on exit if the alarm fired: library
code that catches ``Exception`` broadly (trafilatura falls back to other extractors on errors)
must not be able to swallow it and carry on past the limit.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ExtractionTimeout(BaseException):
    pass


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = False

    def _raise(signum, frame):  # noqa: ARG001
        nonlocal fired
        fired = True
        raise ExtractionTimeout(f"took longer than {seconds}s")

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if fired:
        raise ExtractionTimeout(f"took longer than {seconds}s")
