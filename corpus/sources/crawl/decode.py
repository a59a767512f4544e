"""Content-Encoding undone with a ceiling on the output: a small gzip body must not become gigabytes.

The crawler keeps the bytes as sent (they go to the WARC untouched) and decodes only to read links
and robots.txt; the API fetcher decodes to read list pages. Both go through :func:`decode_content`,
which inflates gzip, deflate (zlib-wrapped or raw) and brotli in bounded steps and stops as soon
as the output passes ``max_bytes``: memory stays at about ``max_bytes`` however the body was built.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import brotli

#: What the crawler and the API fetcher advertise; each of these is decoded here, boundedly.
ACCEPT_ENCODING = "gzip, deflate, br"


@dataclass(frozen=True)
class Decoded:
    """The decoded body, or why there is none: ``too_large_decoded`` or ``undecodable``."""

    data: bytes | None
    error: str | None = None
    detail: str = ""


def _inflate(data: bytes, wbits: int, limit: int) -> bytes:
    """zlib/gzip/raw-deflate output, at most ``limit + 1`` bytes; gzip members after the first are read too."""
    out = bytearray()
    pending = data
    while pending and len(out) <= limit:
        d = zlib.decompressobj(wbits)
        while pending and len(out) <= limit:
            out += d.decompress(pending, limit + 1 - len(out))
            if d.eof or not d.unconsumed_tail:
                break
            pending = d.unconsumed_tail
        if len(out) > limit:
            break
        if not d.eof:  # truncated stream: keep what was inflated (a browser shows it too)
            out += d.flush()[: limit + 1 - len(out)]
            break
        pending = d.unused_data if wbits == 31 and d.unused_data.strip(b"\0") else b""
    return bytes(out)


def _unbrotli(data: bytes, limit: int) -> bytes:
    d = brotli.Decompressor()
    out = bytearray(d.process(data, output_buffer_limit=limit + 1))
    while len(out) <= limit and not d.can_accept_more_data():
        out += d.process(b"", output_buffer_limit=limit + 1 - len(out))
    return bytes(out)


def _one(data: bytes, coding: str, limit: int) -> bytes:
    """One coding undone; the output stops just past ``limit`` bytes (the caller decides what that means)."""
    if coding in ("gzip", "x-gzip"):
        return _inflate(data, 31, limit)
    if coding == "deflate":  # RFC 9110 says zlib-wrapped; some servers send raw deflate
        try:
            return _inflate(data, 15, limit)
        except zlib.error:
            return _inflate(data, -15, limit)
    if coding == "br":
        return _unbrotli(data, limit)
    raise ValueError(f"unsupported Content-Encoding {coding!r}")


def decode_content(body: bytes, content_encoding: str | None, max_bytes: int, truncate: bool = False) -> Decoded:
    """``body`` with its Content-Encoding(s) undone (last applied first), at most ``max_bytes`` long.

    Past ``max_bytes`` the result is ``too_large_decoded``, or with ``truncate`` the first
    ``max_bytes`` (robots.txt: RFC 9309 has crawlers parse at least the first 500 KiB of a larger
    file, so an oversized robots.txt is read up to the limit, not thrown away).
    """
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    data = body
    try:
        for coding in reversed([c for c in codings if c != "identity"]):
            data = _one(data, coding, max_bytes)
            if len(data) > max_bytes and not truncate:
                return Decoded(None, "too_large_decoded", f"Content-Encoding {content_encoding} inflates past {max_bytes} bytes")
    except (zlib.error, brotli.error, ValueError) as exc:
        return Decoded(None, "undecodable", f"Content-Encoding {content_encoding}: {exc}"[:300])
    if len(data) > max_bytes:
        if not truncate:
            return Decoded(None, "too_large_decoded", f"{len(data)} bytes > {max_bytes}")
        data = data[:max_bytes]
    return Decoded(data)
