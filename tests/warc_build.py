"""Write WARC records byte by byte for hostile-input tests: wrong lengths, wrong digests, bombs.

warcio's writer always writes correct records; these tests need records that lie, and need to
know exactly how many records each file holds (counted here, independently of the reader).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import uuid
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


def digest(data: bytes, algo: str = "sha1", form: str = "base32") -> str:
    raw = hashlib.new(algo, data).digest()
    value = {"base32": base64.b32encode(raw).decode(), "base16": raw.hex(), "base64": base64.b64encode(raw).decode()}[form]
    return f"{algo}:{value}"


def http_block(body: bytes, content_type: str = "text/html; charset=utf-8", extra: Iterable[tuple[str, str]] = (),
               status: str = "200 OK") -> tuple[bytes, bytes]:
    """(HTTP headers, body) of a response (200 unless ``status`` says otherwise)."""
    lines = [f"HTTP/1.1 {status}", f"Content-Type: {content_type}", f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in extra)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii"), body


@dataclass
class Rec:
    """One response record; ``length_delta`` makes its Content-Length lie, ``bad_digest`` its digest."""

    url: str
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    length_delta: int = 0
    bad_digest: str | None = None  # "block" or "payload"
    algo: str = "sha1"
    form: str = "base32"
    http_extra: tuple[tuple[str, str], ...] = ()
    rec_type: str = "response"
    status: str = "200 OK"

    def bytes(self) -> bytes:
        head, body = http_block(self.body, self.content_type, self.http_extra, self.status)
        block = head + body
        block_digest = digest(block, self.algo, self.form)
        payload_digest = digest(body, self.algo, self.form)
        if self.bad_digest == "block":
            block_digest = digest(block + b"x", self.algo, self.form)
        if self.bad_digest == "payload":
            payload_digest = digest(body + b"x", self.algo, self.form)
        headers = [
            "WARC/1.1", f"WARC-Type: {self.rec_type}", f"WARC-Target-URI: {self.url}", "WARC-Date: 2024-05-01T00:00:00Z",
            f"WARC-Record-ID: <urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, self.url)}>",
            "Content-Type: application/http; msgtype=response",
            f"WARC-Block-Digest: {block_digest}", f"WARC-Payload-Digest: {payload_digest}",
            f"Content-Length: {len(block) + self.length_delta}",
        ]
        return ("\r\n".join(headers) + "\r\n\r\n").encode("ascii") + block + b"\r\n\r\n"


def write(path: Path, records: list[Rec], gz: bool) -> list[int]:
    """Write ``records`` (one gzip member each when ``gz``); returns each record's offset."""
    offsets, out = [], bytearray()
    for r in records:
        offsets.append(len(out))
        data = r.bytes()
        out += gzip.compress(data, mtime=0) if gz else data
    path.write_bytes(bytes(out))
    return offsets


def count_headers(data: bytes) -> int:
    """Records in an uncompressed WARC, counted from the headers as written (``WARC/1.1`` at the
    file start or after a record separator), without any WARC parser."""
    return int(data.startswith(b"WARC/1.1\r\n")) + data.count(b"\r\n\r\nWARC/1.1\r\nWARC-Type: response")


def bomb_member(url: str, inflated: int, fill: bytes = b"\0") -> bytes:
    """A gzip member holding one response record whose body is ``inflated`` bytes of ``fill``,
    compressed while streaming (never held), with a correct Content-Length."""
    head, _ = http_block(b"", "text/html")
    head = head.replace(b"Content-Length: 0", f"Content-Length: {inflated}".encode())
    warc = (
        "WARC/1.1\r\nWARC-Type: response\r\n"
        f"WARC-Target-URI: {url}\r\nWARC-Date: 2024-05-01T00:00:00Z\r\n"
        f"WARC-Record-ID: <urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, url)}>\r\n"
        "Content-Type: application/http; msgtype=response\r\n"
        f"Content-Length: {len(head) + inflated}\r\n\r\n"
    ).encode("ascii")
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [z.compress(warc + head)]
    chunk = fill * ((1 << 20) // len(fill))
    left = inflated
    while left:
        piece = chunk[: min(left, len(chunk))]
        out.append(z.compress(piece))
        left -= len(piece)
    out.append(z.compress(b"\r\n\r\n"))
    out.append(z.flush())
    return b"".join(out)
