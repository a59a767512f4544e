"""Run a call in a child process that can be killed at a deadline: a time limit that really holds.

trafilatura and lxml can spend minutes (or forever) on one hostile page, inside C code that no
signal handler interrupts, and Ray calls stage code from worker threads where SIGALRM cannot be
used at all. The only limit that always holds is to run the call in another process and kill that
process when the deadline passes. One child per worker process (``python -m
corpus.extract.sandbox``) is reused for every call; a call that times out or crashes the child
costs that one document, and the next call starts a fresh child.

The child is a plain subprocess speaking length-prefixed pickles over its stdin/stdout, not a
multiprocessing child: multiprocessing's spawn and forkserver re-import the parent's main
module, which inside a Ray worker or a user's script is not safe to import twice.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, BinaryIO

_HEADER = struct.Struct("<Q")
#: Imported once per child so the first call does not pay for them.
PRELOAD = ("corpus.extract.html", "corpus.extract.pdf")
#: How long a fresh child may take to start and import PRELOAD. Not part of any call's time limit:
#: a document must not be rejected because the child before it was killed and its successor was
#: still importing trafilatura on a busy machine.
STARTUP_SECONDS = 300.0


class SandboxTimeout(Exception):
    """The call did not finish within its deadline; the child was killed."""


class SandboxCrash(Exception):
    """The child died during the call (a segfault, the OOM killer); the message says how."""


class SandboxError(Exception):
    """The call raised; ``kind`` is the exception's class name (the object itself may not pickle)."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind


def _send(out: BinaryIO, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_HEADER.pack(len(data)) + data)
    out.flush()


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    """``n`` bytes from ``fd``, waiting at most until ``deadline`` (monotonic; None: forever)."""
    buf = bytearray()
    while len(buf) < n:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise SandboxTimeout("deadline passed")
        chunk = os.read(fd, min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError("pipe closed")
        buf += chunk
    return bytes(buf)


def _recv(fd: int, deadline: float | None) -> Any:
    (n,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    return pickle.loads(_read_exact(fd, n, deadline))


def serve() -> None:
    """The child's loop: run each (function, args) it is sent and send back the outcome."""
    import importlib

    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # library prints must not corrupt the protocol stream
    for name in PRELOAD:
        importlib.import_module(name)
    _send(out, ("ready",))  # the parent starts a call's clock only now
    fd = sys.stdin.buffer.fileno()
    while True:
        try:
            fn, args = _recv(fd, None)
        except EOFError:  # the parent is gone
            return
        try:
            reply: tuple = ("ok", fn(*args))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent as data
            reply = ("error", type(exc).__name__, str(exc)[:2000])
        try:
            _send(out, reply)
        except (pickle.PicklingError, TypeError) as exc:
            _send(out, ("error", type(exc).__name__, f"result does not pickle: {exc}"[:2000]))


class Sandbox:
    """A lazily started child process; ``call`` runs ``fn(*args)`` in it with a deadline.

    ``fn`` must be importable by name (a module-level function). One call at a time per sandbox.
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def _start(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "corpus.extract.sandbox"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env, close_fds=True,
        )
        try:
            _recv(self._proc.stdout.fileno(), time.monotonic() + STARTUP_SECONDS)
        except (SandboxTimeout, EOFError, OSError) as exc:
            code = self._proc.poll()
            self._stop()
            raise SandboxCrash(f"extraction process did not start (exit code {code}): {exc}") from None

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait(10)
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()

    def call(self, fn: Callable[..., Any], args: tuple, timeout: float) -> Any:
        with self._lock:
            if self._pid != os.getpid():  # inherited over a fork: that child is not ours
                self._proc, self._pid = None, os.getpid()
            if self._proc is None or self._proc.poll() is not None:
                self._stop()
                self._start()
            proc = self._proc
            try:
                _send(proc.stdin, (fn, args))
                reply = _recv(proc.stdout.fileno(), time.monotonic() + timeout)
            except SandboxTimeout:
                self._stop()
                raise SandboxTimeout(f"took longer than {timeout:g}s") from None
            except (BrokenPipeError, EOFError, OSError) as exc:
                code = proc.poll()
                self._stop()
                raise SandboxCrash(f"extraction process died (exit code {code}): {exc}") from None
            if reply[0] == "ok":
                return reply[1]
            raise SandboxError(reply[1], reply[2])

    def close(self) -> None:
        with self._lock:
            self._stop()


_SHARED: Sandbox | None = None


def shared_sandbox() -> Sandbox:
    """The process's sandbox (one child per worker process, reused by every stage instance)."""
    global _SHARED
    if _SHARED is None:
        _SHARED = Sandbox()
    return _SHARED


if __name__ == "__main__":
    serve()
