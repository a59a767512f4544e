"""One bounded HTTP GET: the bytes as sent, or a named failure (timeout, too large, connection).

Why stream: a response over ``max_bytes`` is cut off as soon as the limit is passed (or before
reading, when Content-Length already says so), so a huge or endless response costs at most the
limit. Redirects are not followed here; the crawler decides about them (allowlist, fetch-once).
The body is kept exactly as transferred (Content-Encoding intact) because the WARC must hold the
bytes the server sent; Transfer-Encoding is undone by httpx and dropped from the stored headers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx


@dataclass
class FetchResult:
    url: str
    status: int | None = None
    reason: str = ""
    http_version: str = "HTTP/1.1"
    headers: list[tuple[str, str]] = field(default_factory=list)
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    error: str | None = None  # "timeout" | "too_large" | "connect" | "protocol"
    detail: str = ""
    seconds: float = 0.0

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    @property
    def request_line(self) -> str:
        parts = urlsplit(self.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return f"GET {target} {self.http_version}"


def make_client(user_agent: str, connect_timeout: float, read_timeout: float, concurrency: int) -> httpx.Client:
    return httpx.Client(
        headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
        timeout=httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout, pool=None),
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        follow_redirects=False,
        trust_env=False,
    )


def fetch(client: httpx.Client, url: str, max_bytes: int) -> FetchResult:
    result = FetchResult(url)
    t0 = time.monotonic()
    try:
        with client.stream("GET", url) as resp:
            result.status = resp.status_code
            result.reason = resp.reason_phrase
            result.http_version = resp.http_version or "HTTP/1.1"
            result.headers = [(k, v) for k, v in resp.headers.multi_items() if k.lower() != "transfer-encoding"]
            result.request_headers = list(resp.request.headers.multi_items())
            declared = resp.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                result.error, result.detail = "too_large", f"Content-Length {declared} > max_bytes {max_bytes}"
                return result
            buf = bytearray()
            for chunk in resp.iter_raw():
                buf += chunk
                if len(buf) > max_bytes:
                    result.error, result.detail = "too_large", f"aborted after {len(buf)} bytes > max_bytes {max_bytes}"
                    return result
            result.body = bytes(buf)
    except httpx.TimeoutException as exc:
        result.error, result.detail = "timeout", f"{type(exc).__name__}: {exc}"
    except httpx.TransportError as exc:
        kind = "connect" if isinstance(exc, (httpx.ConnectError, httpx.ProxyError)) else "protocol"
        result.error, result.detail = kind, f"{type(exc).__name__}: {exc}"
    finally:
        result.seconds = time.monotonic() - t0
    return result
