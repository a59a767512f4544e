"""Run a command where file permissions hold, even when the tests run as root.

Root bypasses read, write and search permissions through two capabilities (CAP_DAC_OVERRIDE,
CAP_DAC_READ_SEARCH), so ``chmod 000`` denies it nothing. Dropping just those two from the
bounding set (``setpriv``, util-linux) keeps uid 0, so Ray's session files, the venv and the
test's temporary directories stay usable, while a file or directory with mode 000 is refused
exactly as it would be to a normal user.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

SETPRIV = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", "--"]


@functools.lru_cache(maxsize=1)
def prefix() -> list[str] | None:
    """What to put before a command so permissions hold: nothing for a normal user, ``setpriv``
    for root, None when root cannot drop the capabilities here (then no test can deny a read)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        return None
    probe = subprocess.run([*SETPRIV, "sh", "-c", "cat /proc/self/status"], capture_output=True, text=True)
    if probe.returncode != 0:
        return None
    caps = next((ln.split()[1] for ln in probe.stdout.splitlines() if ln.startswith("CapEff:")), "0")
    return SETPRIV if not int(caps, 16) & 0b110 else None  # bits 1 and 2: DAC_OVERRIDE, DAC_READ_SEARCH
