"""Turn an exception that stopped a run into one line a person can act on, and keep the traceback.

A full disk, a permission error or a lost Ray node reaches the driver wrapped in Ray's exceptions,
with the line that matters buried in a hundred lines of frames. ``describe`` digs out what failed
and where (the file being written, from corpus.io's messages); ``save_traceback`` writes the whole
story to a log file under the output directory for whoever needs it.
"""

from __future__ import annotations

import errno
import os
import tempfile
import traceback
from datetime import datetime, timezone

_ERRNO_HINTS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
}


def _root(exc: BaseException) -> BaseException:
    """The innermost cause of a chain of wrapped exceptions."""
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        nxt = getattr(exc, "cause", None) or exc.__cause__
        if nxt is None or nxt is exc:
            break
        exc = nxt
    return exc


def describe(exc: BaseException) -> str:
    """One line: what failed and where."""
    from corpus.io.storage import StorageError

    root = _root(exc)
    name = type(root).__name__
    try:
        import ray.exceptions as rex

        if isinstance(root, (rex.NodeDiedError, rex.ActorDiedError, rex.WorkerCrashedError, rex.RaySystemError)):
            return f"a Ray node or worker was lost ({name}): {str(root).splitlines()[0][:300]}"
    except ImportError:
        pass
    first = next((line.strip() for line in str(root).splitlines() if line.strip()), name)
    if isinstance(root, StorageError):
        return first[:500]
    if isinstance(root, OSError) and root.errno in _ERRNO_HINTS:
        where = f" while writing {root.filename}" if root.filename else ""
        return f"{_ERRNO_HINTS[root.errno]}{where} ({name}: {first[:300]})"
    if name == "WorkerLost":
        return first[:500]
    return f"{name}: {first[:500]}"


def save_traceback(exc: BaseException, directory: str | None) -> str:
    """Write the full traceback to ``<directory>/_work/logs/run-<time>.log`` (or a temp file when the
    output cannot be written) and return its path."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    candidates = []
    if directory and "://" not in directory:
        candidates.append(os.path.join(directory, "_work", "logs"))
    candidates.append(tempfile.gettempdir())
    for folder in candidates:
        try:
            os.makedirs(folder, exist_ok=True)
            path = os.path.join(folder, f"corpus-run-{stamp}.log")
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
            return path
        except OSError:
            continue
    return "(traceback could not be saved)"
