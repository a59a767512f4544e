"""A network backend for httpcore in which every socket wait obeys a per-request deadline and a cancel flag.

Why: httpcore (like every HTTP client) times out each socket operation on its own, so a server
that trickles one byte of headers or body every few seconds restarts the read timeout forever and
holds a request open as long as it likes. Here every wait (connect, TLS handshake, read, write) is
cut into short slices; between slices the stream checks the request's total deadline and a cancel
flag that another thread may set (Ctrl-C). A request therefore ends at its deadline, or within one
slice of a cancel, whatever the server does. No socket is ever touched from another thread.

The deadline and the cancel flag live in a :class:`RequestScope` bound to the calling thread for
the duration of one request (:func:`bound`); httpcore's sync API calls the stream from that thread.
"""

from __future__ import annotations

import errno
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpcore

#: Longest single socket wait; the upper bound on how late a deadline or a cancel is noticed.
SLICE_SECONDS = 0.2

T = TypeVar("T")


class DeadlineExceeded(httpcore.TimeoutException):
    """The request's total deadline passed (however the bytes were arriving)."""


class Cancelled(httpcore.NetworkError):
    """The request was cancelled from another thread (the crawl or fetch is stopping)."""


class RequestScope:
    """One request's total deadline and cancel flag; ``cancel()`` may be called from any thread."""

    def __init__(self, deadline_seconds: float):
        self.deadline_seconds = deadline_seconds
        self.expires = time.monotonic() + deadline_seconds
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def remaining(self) -> float:
        return self.expires - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0

    def check(self, what: str) -> None:
        if self.cancelled:
            raise Cancelled(f"cancelled during {what}")
        if self.expired():
            raise DeadlineExceeded(f"total deadline of {self.deadline_seconds:g} s passed during {what}")


_local = threading.local()


@contextmanager
def bound(scope: RequestScope) -> Iterator[RequestScope]:
    """Make ``scope`` govern every socket wait of the calling thread inside the block."""
    _local.scope = scope
    try:
        yield scope
    finally:
        _local.scope = None


def _scope() -> RequestScope | None:
    return getattr(_local, "scope", None)


def _sliced(op: Callable[[float], T], timeout: float | None, what: str, idle_exc: type[Exception]) -> T:
    """Run ``op(wait)`` (which raises ``socket.timeout`` after ``wait`` s) until it succeeds.

    Between slices: the scope's cancel flag and total deadline, then the operation's own timeout
    (``timeout``: the longest wait for progress, e.g. the read timeout) are checked.
    """
    scope = _scope()
    start = time.monotonic()
    while True:
        wait = SLICE_SECONDS
        if scope is not None:
            scope.check(what)
            wait = min(wait, scope.remaining())
        if timeout is not None:
            left = timeout - (time.monotonic() - start)
            if left <= 0:
                raise idle_exc(f"no progress for {timeout:g} s during {what}")
            wait = min(wait, left)
        try:
            return op(max(wait, 0.001))
        except socket.timeout:
            continue


class GuardedStream(httpcore.NetworkStream):
    """A blocking socket (plain or TLS) whose waits go through :func:`_sliced`."""

    def __init__(self, sock: socket.socket):
        self._sock = sock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        def op(wait: float) -> bytes:
            self._sock.settimeout(wait)
            return self._sock.recv(max_bytes)

        try:
            return _sliced(op, timeout, "read", httpcore.ReadTimeout)
        except OSError as exc:
            raise httpcore.ReadError(str(exc) or type(exc).__name__) from exc

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        view = memoryview(buffer)

        def op(wait: float) -> int:
            self._sock.settimeout(wait)
            return self._sock.send(view)

        try:
            while view:
                view = view[_sliced(op, timeout, "write", httpcore.WriteTimeout):]
        except OSError as exc:
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc

    def close(self) -> None:
        self._sock.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        try:
            tls = ssl_context.wrap_socket(self._sock, server_hostname=server_hostname, do_handshake_on_connect=False)

            def op(wait: float) -> None:
                tls.settimeout(wait)
                tls.do_handshake()

            _sliced(op, timeout, "TLS handshake", httpcore.ConnectTimeout)
        except (httpcore.TimeoutException, Cancelled):
            self._sock.close()
            raise
        except OSError as exc:
            self._sock.close()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        return GuardedStream(tls)

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object" and isinstance(self._sock, ssl.SSLSocket):
            return self._sock._sslobj  # what httpcore's own stream returns (used for ALPN)
        if info == "socket":
            return self._sock
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "is_readable":  # an idle pooled connection that is readable was closed by the server
            try:
                return bool(select.select([self._sock], [], [], 0)[0])
            except (OSError, ValueError):
                return True
        return None


class GuardedBackend(httpcore.NetworkBackend):
    """TCP connections whose connect (non-blocking, sliced) and later I/O obey the thread's scope."""

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        scope = _scope()
        if scope is not None:
            scope.check("connect")
        try:  # name resolution is the one wait that cannot be sliced; loopback and cached names are instant
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        last: Exception | None = None
        for family, kind, proto, _, address in infos:
            sock = socket.socket(family, kind, proto)
            try:
                if local_address is not None:
                    sock.bind((local_address, 0))
                for option in socket_options or ():
                    sock.setsockopt(*option)
                self._connect(sock, address, timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return GuardedStream(sock)
            except (httpcore.TimeoutException, Cancelled):
                sock.close()
                raise
            except OSError as exc:
                sock.close()
                last = exc
        raise httpcore.ConnectError(f"cannot connect to {host}:{port}: {last}")

    @staticmethod
    def _connect(sock: socket.socket, address: Any, timeout: float | None) -> None:
        sock.setblocking(False)
        code = sock.connect_ex(address)
        if code not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
            raise OSError(code, errno.errorcode.get(code, str(code)))
        if code != 0:
            def op(wait: float) -> None:
                if not select.select([], [sock], [], wait)[1]:
                    raise socket.timeout()

            _sliced(op, timeout, "connect", httpcore.ConnectTimeout)
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                raise OSError(code, errno.errorcode.get(code, str(code)))
        sock.setblocking(True)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by the crawler")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
