"""Reads that stop at a limit: no input, however it is built, makes a worker hold more than that.

Every reader takes its limits from the spec's ``[limits]`` (corpus.io.limits.Limits) and reads
through these helpers while streaming, so a document over the limit costs at most the limit in
memory and becomes a ``too_large`` rejection that says how many bytes were seen before stopping.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

_CHUNK = 1 << 16
_MAX_READ = 1 << 20


class TooLarge(Exception):
    """A document, line or decoded body passed its limit; ``seen`` bytes were read before stopping.

    ``setting`` names the spec setting that set the limit, so a rejection can tell the user which
    knob to turn (``[limits] max_document_bytes`` or ``max_line_bytes``).
    """

    def __init__(self, seen: int, limit: int, what: str = "document", setting: str = "max_document_bytes"):
        super().__init__(f"{what} larger than [limits] {setting} = {limit} bytes (stopped after {seen} bytes)")
        self.seen, self.limit, self.what, self.setting = seen, limit, what, setting


def read_at_most(fh: BinaryIO, limit: int, what: str = "document") -> bytes:
    """All of ``fh`` if it holds at most ``limit`` bytes, else :class:`TooLarge` (after limit+1 bytes)."""
    data = fh.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(len(data), limit, what)
    return data


class Buffered:
    """``read``/``readline``/``peek`` over any ``read(n)`` function (a pyarrow file, an inflater),
    counting the bytes consumed. pyarrow's files have no ``readline``; this one never holds more
    than ``size`` bytes of a line it is asked for (plus one chunk of read-ahead)."""

    def __init__(self, raw: Callable[[int], bytes], position: int = 0):
        self._raw, self._buf = raw, bytearray()
        self._error: Exception | None = None
        self.pos = position

    def _fill(self, n: int) -> None:
        """Buffer up to ``n`` bytes. A failure of the underlying read is raised only once the bytes
        read before it are consumed, so a reader still gets everything that preceded a bad spot."""
        while len(self._buf) < n:
            if self._error is not None:
                if self._buf:
                    return
                raise self._error
            try:
                chunk = self._raw(max(n - len(self._buf), _CHUNK))
            except Exception as exc:  # re-raised when the caller needs bytes past the failure
                self._error = exc
                continue
            if not chunk:
                return
            self._buf += chunk

    def tell(self) -> int:
        return self.pos

    def peek(self, n: int) -> bytes:
        self._fill(n)
        return bytes(self._buf[:n])

    def read(self, n: int | None = None) -> bytes:
        """Up to ``n`` bytes (at most 1 MiB per call, so a caller asking for "all" of a huge
        declared length gets it in pieces instead of holding it)."""
        n = _CHUNK if n is None or n < 0 else min(n, _MAX_READ)
        self._fill(n)
        out = bytes(self._buf[:n])
        del self._buf[:n]
        self.pos += len(out)
        return out

    def readline(self, size: int | None = None) -> bytes:
        """One line with its newline, or its first ``size`` bytes if it is longer."""
        cap = size if size is not None and size >= 0 else 1 << 62
        scanned = 0
        while (i := self._buf.find(b"\n", scanned)) < 0 and len(self._buf) < cap:
            scanned = len(self._buf)
            self._fill(scanned + _CHUNK)
            if len(self._buf) == scanned:
                break
        end = min(i + 1 if i >= 0 else len(self._buf), cap)
        line = bytes(self._buf[:end])
        del self._buf[:end]
        self.pos += len(line)
        return line


@dataclass(frozen=True)
class Line:
    """One line of a line-oriented file: its byte offset, 1-based number and content (no newline).

    ``content`` is None when the line was longer than the limit; ``length`` is then the number of
    bytes it had (the line is skipped to its end, never held).
    """

    offset: int
    number: int
    content: bytes | None
    length: int


def bounded_lines(fh: BinaryIO, limit: int, start: int = 0, end: int | None = None, first_number: int = 1) -> Iterator[Line]:
    """Lines starting at byte offsets in ``[start, end)`` of ``fh`` (already positioned at ``start``,
    which must be a line start), each held only if it is at most ``limit`` bytes long."""
    offset, number = start, first_number
    while end is None or offset < end:
        head = fh.readline(limit + 1)
        if not head:
            return
        if len(head) <= limit or head.endswith(b"\n"):
            body = head.rstrip(b"\r\n") if head.endswith(b"\n") else head
            if len(body) <= limit:
                yield Line(offset, number, body, len(head))
                offset += len(head)
                number += 1
                continue
        length = len(head)
        while not head.endswith(b"\n"):  # skip the rest of an over-long line without holding it
            head = fh.readline(_CHUNK)
            if not head:
                break
            length += len(head)
        yield Line(offset, number, None, length)
        offset += length
        number += 1


def inflate(data: bytes, encoding: str, limit: int) -> bytes:
    """Undo an HTTP Content-Encoding (gzip, x-gzip, deflate, identity) holding at most ``limit``
    output bytes; :class:`TooLarge` past it, ``ValueError`` for an encoding it does not know."""
    enc = encoding.strip().lower()
    if enc in ("", "identity"):
        if len(data) > limit:
            raise TooLarge(len(data), limit, "decoded body")
        return data
    if enc in ("gzip", "x-gzip"):
        modes = [16 + zlib.MAX_WBITS]
    elif enc == "deflate":  # RFC 9110 says zlib-wrapped; many servers send raw deflate
        modes = [zlib.MAX_WBITS, -zlib.MAX_WBITS]
    else:
        raise ValueError(f"unsupported Content-Encoding {encoding!r}")
    last: Exception | None = None
    for wbits in modes:
        try:
            return _inflate(data, wbits, limit)
        except zlib.error as exc:
            last = exc
    raise ValueError(f"corrupt {enc} body: {last}")


def _inflate(data: bytes, wbits: int, limit: int) -> bytes:
    out = bytearray()
    d = zlib.decompressobj(wbits)
    pending = data
    while pending:
        out += d.decompress(pending, limit + 1 - len(out))
        if len(out) > limit:
            raise TooLarge(len(out), limit, "decoded body")
        pending = d.unconsumed_tail
        if d.eof:
            if d.unused_data and wbits > 16:  # concatenated gzip members
                pending, d = d.unused_data, zlib.decompressobj(wbits)
                continue
            break
    return bytes(out)


@dataclass(frozen=True)
class ReadLimits:
    """The spec's ``[limits]``: how much of one input a worker may hold (docs/limits.md).

    ``max_document_bytes`` bounds one document as read (a WARC payload, a whole HTML/XML/PDF file,
    a Parquet text cell, an inflated gzip member); ``max_line_bytes`` one JSONL line.
    """

    max_document_bytes: int = 64 * 1024 * 1024
    max_line_bytes: int = 64 * 1024 * 1024
