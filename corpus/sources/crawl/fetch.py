"""One bounded HTTP GET: the bytes as sent, or a named failure. Shared by `corpus crawl` and `corpus fetch`.

Bounded three ways: ``max_bytes`` (a response past it is cut off as soon as the limit is passed,
or refused before reading when Content-Length already says so), a total deadline (connect +
headers + body, enforced by the guarded transport however slowly bytes trickle in), and
:meth:`Fetcher.cancel_all` (every request in flight ends within a fraction of a second: Ctrl-C).

Redirects are not followed here; the caller decides about them (allowlist, fetch-once). The body
is kept exactly as transferred (Content-Encoding intact) because the WARC must hold the bytes the
server sent; chunked Transfer-Encoding is undone by h11 and dropped from the stored headers.
Errors: ``timeout`` (read timeout or total deadline), ``too_large``, ``connect``, ``protocol``,
``cancelled``.
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import certifi
import httpcore

from corpus.sources.crawl.decode import ACCEPT_ENCODING
from corpus.sources.crawl.transport import Cancelled, DeadlineExceeded, GuardedBackend, RequestScope, bound


@dataclass
class FetchResult:
    url: str
    status: int | None = None
    reason: str = ""
    http_version: str = "HTTP/1.1"
    headers: list[tuple[str, str]] = field(default_factory=list)
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    error: str | None = None  # "timeout" | "too_large" | "connect" | "protocol" | "cancelled"
    detail: str = ""
    seconds: float = 0.0

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    @property
    def request_line(self) -> str:
        """The request line as sent: h11 always speaks HTTP/1.1 (``http_version`` is the server's answer)."""
        parts = urlsplit(self.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return f"GET {target} HTTP/1.1"


def _text(value: bytes) -> str:
    return value.decode("latin-1")  # header bytes 1:1 (RFC 9110: field values are opaque octets)


class Fetcher:
    """A connection pool whose requests are bounded in size and total time and can all be cancelled."""

    def __init__(self, user_agent: str, connect_timeout: float, read_timeout: float, deadline_seconds: float,
                 max_connections: int = 1, accept: str = "*/*", ssl_context: ssl.SSLContext | None = None):
        """``ssl_context`` defaults to the system's verification with certifi's CA bundle."""
        self.headers = [("User-Agent", user_agent), ("Accept", accept), ("Accept-Encoding", ACCEPT_ENCODING)]
        self.timeouts = {"connect": connect_timeout, "read": read_timeout, "write": read_timeout}
        self.deadline_seconds = deadline_seconds
        self.pool = httpcore.ConnectionPool(
            ssl_context=ssl_context or ssl.create_default_context(cafile=certifi.where()),
            max_connections=max_connections, max_keepalive_connections=max_connections,
            network_backend=GuardedBackend(), retries=0,
        )
        self._lock = threading.Lock()
        self._active: set[RequestScope] = set()
        self._cancelled = False

    def cancel_all(self) -> None:
        """End every request in flight (each returns error ``cancelled``) and refuse new ones."""
        with self._lock:
            self._cancelled = True
            for scope in self._active:
                scope.cancel()

    def close(self) -> None:
        self.pool.close()

    def fetch(self, url: str, max_bytes: int) -> FetchResult:
        """Never raises: every failure is a result with ``error`` set."""
        result = FetchResult(url)
        t0 = time.monotonic()  # before the scope: ``seconds`` covers the whole deadline it measures
        scope = RequestScope(self.deadline_seconds)
        with self._lock:
            if self._cancelled:
                result.error, result.detail = "cancelled", "stopping: request not sent"
                return result
            self._active.add(scope)
        try:
            with bound(scope):
                self._exchange(url, max_bytes, scope, result)
        except Cancelled as exc:
            result.error, result.detail = "cancelled", str(exc)
        except DeadlineExceeded as exc:
            result.error, result.detail = "timeout", str(exc)
        except httpcore.TimeoutException as exc:
            result.error, result.detail = "timeout", f"{type(exc).__name__}: {exc}"
        except (httpcore.ConnectError, httpcore.ProxyError) as exc:
            result.error, result.detail = "connect", f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # noqa: BLE001 - network, protocol, unusable URL: a result always comes back
            result.error, result.detail = "protocol", f"{type(exc).__name__}: {exc}"
        finally:
            result.seconds = time.monotonic() - t0
            with self._lock:
                self._active.discard(scope)
        if result.error is not None and scope.cancelled:
            result.error = "cancelled"  # whatever the socket said, the reason is the cancel
        result.detail = result.detail[:500]
        return result

    def _exchange(self, url: str, max_bytes: int, scope: RequestScope, result: FetchResult) -> None:
        request_url = httpcore.URL(url)
        host = request_url.host.decode("ascii")
        port = request_url.port
        default = {b"http": 80, b"https": 443}.get(request_url.scheme)
        headers = [("Host", host if port in (None, default) else f"{host}:{port}"), *self.headers]
        request = httpcore.Request(
            "GET", request_url, headers=headers,
            extensions={"timeout": {**self.timeouts, "pool": max(scope.remaining(), 0.001)}},
        )
        result.request_headers = list(headers)
        response = self.pool.handle_request(request)
        try:
            result.status = response.status
            result.reason = _text(response.extensions.get("reason_phrase", b""))
            result.http_version = _text(response.extensions.get("http_version", b"HTTP/1.1"))
            result.headers = [(_text(k), _text(v)) for k, v in response.headers if k.lower() != b"transfer-encoding"]
            declared = result.header("content-length") or ""
            if declared.isdigit() and int(declared) > max_bytes:
                result.error, result.detail = "too_large", f"Content-Length {declared} > max_bytes {max_bytes}"
                return
            buf = bytearray()
            for chunk in response.iter_stream():
                buf += chunk
                if len(buf) > max_bytes:
                    result.error, result.detail = "too_large", f"aborted after {len(buf)} bytes > max_bytes {max_bytes}"
                    return
                scope.check("body")  # a fast endless body ends at the deadline too, not only a slow one
            result.body = bytes(buf)
        finally:
            response.close()
