"""WARC/ARC framing: find every record of a file, check that it is whole, and never trust it blindly.

warcio parses each record's WARC and HTTP headers and checks its digests (it is the well-kept
library for that); what warcio only warns about is done here: a record's ``Content-Length`` must
end exactly at a record boundary (``\\r\\n\\r\\n`` then the next ``WARC/1.`` header, the end of
the gzip member, or the end of the file). A length that is too large would swallow the records
after it; one that is too small would keep a truncated payload. Either way the record is reported
with its offset and reading resynchronises: on the next ``\\r\\n\\r\\nWARC/1.`` in a ``.warc``, on
the next gzip member that inflates to a WARC header in a ``.warc.gz``. Bytes that are no record
at all become a ``Lost`` region (one rejection for them, or for the rest of the file).

Memory is bounded while streaming: headers by ``HEADER_LIMIT``, a payload by the document limit
(past it the payload is counted and digested but not held), a gzip member by the size of the
chunks it is inflated in, however far it inflates.

A ``.warc.gz`` is read as one stream across gzip members (a record split over several members is
still one record), and a record's offset is that of the gzip member its header starts in: the
offset a locator records and ``record_at`` reopens. A record that starts in the middle of a member
(several records compressed together) cannot be reopened by offset, and says so.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BytesIO
from typing import Any, BinaryIO

from warcio.bufferedreaders import ChunkedDataReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecordLoader
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParserException

from corpus.io import storage
from corpus.io.bounded import Buffered, inflate
from corpus.stage import Rejection

DOCUMENT_RECORD_TYPES = ("response", "resource")
#: Bytes of WARC + HTTP headers one record may have.
HEADER_LIMIT = 1 << 20
GZIP_MAGIC = b"\x1f\x8b\x08"
_CHUNK = 1 << 16
#: At most this much of a corrupt gzip member is recovered (enough for the record's headers).
_SALVAGE = 1 << 20
_SCAN = 1 << 20
_BLANK = b"\r\n"
_NEXT_WARC = b"\nWARC/1."
#: Rejections after which the next record is searched for instead of read where this one ended.
_FRAMING = ("warc_bad_length", "warc_truncated_record", "warc_corrupt_record")
#: Blank bytes tolerated between records beyond the ``\\r\\n\\r\\n`` the standard asks for.
_SLACK = 64


def charset_param(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'").lower()
    return None


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


# -- streams --------------------------------------------------------------------------------


class GzipError(Exception):
    """The gzip stream broke at ``offset`` (a member's start): truncated, corrupt, or not gzip."""

    def __init__(self, offset: int, message: str, truncated: bool = False):
        super().__init__(message)
        self.offset, self.truncated = offset, truncated


class _GzipStream:
    """Inflate consecutive gzip members from ``offset`` as one stream, a chunk at a time, noting
    where each member starts (compressed offset, and position in the inflated stream)."""

    def __init__(self, fh: BinaryIO, offset: int):
        fh.seek(offset)
        self._fh, self._read_to = fh, offset
        self._d: Any = None
        self._tail = b""
        self._failed: GzipError | None = None
        self.produced = 0
        self.members: list[tuple[int, int]] = []  # (compressed offset, inflated start)

    def _more(self) -> bytes:
        data = self._fh.read(_CHUNK)
        self._read_to += len(data)
        return data

    def _start_member(self) -> bool:
        start = self._read_to - len(self._tail)
        if len(self._tail) < 3:
            self._tail += self._more()
        if not self._tail:
            return False
        if not self._tail.startswith(GZIP_MAGIC):
            raise GzipError(start, f"bytes at offset {start} are not a gzip member")
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self.members.append((start, self.produced))
        del self.members[:-64]
        return True

    def read(self, n: int) -> bytes:
        if self._failed:
            raise self._failed
        try:
            while True:
                if self._d is None and not self._start_member():
                    return b""
                if not self._tail:
                    self._tail = self._more()
                    if not self._tail:
                        raise GzipError(self.members[-1][0], f"gzip member at offset {self.members[-1][0]} is truncated", truncated=True)
                out = self._d.decompress(self._tail, n)
                if self._d.eof:  # what follows the member (zlib may also repeat it in unconsumed_tail)
                    self._tail, self._d = self._d.unused_data, None
                else:
                    self._tail = self._d.unconsumed_tail
                if out:
                    self.produced += len(out)
                    return out
        except zlib.error as exc:
            start, inflated = self.members[-1]
            self._failed = GzipError(start, f"gzip member at offset {start} is corrupt: {exc}")
            delivered = self.produced - inflated
            salvaged = self._salvage(start, delivered, min(n, _SALVAGE)) if delivered < _SALVAGE else b""
            if salvaged:  # what inflated before the corrupt spot (a record's headers): delivered first
                self.produced += len(salvaged)
                return salvaged
        except GzipError as exc:
            self._failed = exc
        raise self._failed

    def _salvage(self, start: int, delivered: int, most: int) -> bytes:
        """Inflate the member at ``start`` again in small steps, up to its corrupt spot, and return
        at most ``most`` of the bytes after the ``delivered`` ones (zlib drops a failing call's output)."""
        self._fh.seek(start)
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = bytearray()
        seen = 0
        while len(out) < most and (data := self._fh.read(_CHUNK)):
            for i in range(0, len(data), 64):
                try:
                    piece = d.decompress(data[i:i + 64])
                except zlib.error:
                    return bytes(out)
                keep = piece[max(delivered - seen, 0):]
                seen += len(piece)
                out += keep[: most - len(out)]
                if len(out) >= most or d.eof:
                    return bytes(out)
        return bytes(out)

    def member_at(self, position: int) -> tuple[int, int]:
        """(compressed offset, inflated start) of the member holding inflated byte ``position``."""
        found = self.members[0] if self.members else (0, 0)
        for m in self.members:
            if m[1] <= position:
                found = m
        return found


class _HeaderBudget(Exception):
    """A record's headers passed ``HEADER_LIMIT``."""


class _Buffered(Buffered):
    """A ``Buffered`` whose lines count against ``budget`` while it is set (a record's headers)."""

    budget: int | None = None

    def readline(self, size: int | None = None) -> bytes:
        line = super().readline(HEADER_LIMIT if size is None or size < 0 else min(size, HEADER_LIMIT))
        if self.budget is not None:
            self.budget -= len(line)
            if self.budget < 0:
                raise _HeaderBudget(f"record headers longer than {HEADER_LIMIT} bytes")
        return line

    def skip_blank(self, most: int) -> int:
        skipped = 0
        while skipped < most and self.peek(1) in (b"\r", b"\n"):
            self.read(1)
            skipped += 1
        return skipped


# -- records --------------------------------------------------------------------------------


@dataclass
class Record:
    """One record: its locator offset, headers, the payload (held only when wanted and within the
    limit) and what is wrong with it, if anything."""

    offset: int
    headers: StatusAndHeaders
    http: StatusAndHeaders | None
    payload: bytes | None
    size: int  # payload bytes seen (after HTTP headers)
    problem: Rejection | None = None
    addressable: bool = True  # False: starts inside a gzip member, so its offset does not reopen it

    @property
    def type(self) -> str:
        return self.headers.get_header("WARC-Type") or ""

    def header(self, name: str) -> str | None:
        return self.headers.get_header(name)

    @property
    def content_type(self) -> str | None:
        return self.http.get_header("Content-Type") if self.http is not None else self.header("Content-Type")

    def content(self, limit: int) -> bytes:
        """The payload with HTTP transfer and content encodings undone, at most ``limit`` bytes
        (:class:`TooLarge` past it). A body that does not decode as labelled is kept as stored,
        as warcio does."""
        data = self.payload or b""
        if self.http is None:
            return data
        if (self.http.get_header("Transfer-Encoding") or "").strip().lower() == "chunked":
            data = ChunkedDataReader(BytesIO(data)).read()
        encoding = (self.http.get_header("Content-Encoding") or "").strip()
        if encoding:
            try:
                data = inflate(data, encoding, limit)
            except ValueError:
                pass
        return data


@dataclass(frozen=True)
class Lost:
    """Bytes from ``offset`` to ``end`` (None: the end of the file) that hold no readable record."""

    offset: int
    end: int | None
    detail: str


_LOADER = ArcWarcRecordLoader(verify_http=False, arc2warc=True)
_HEADER_ERRORS = (ArchiveLoadFailed, StatusAndHeadersParserException, _HeaderBudget, EOFError, ValueError, UnicodeError)


class _NoRecordType(ValueError):
    """Headers that parsed but name no WARC-Type: a header block cut short, or not a record."""


def _parse(src: _Buffered, fmt: str) -> Any:
    src.budget = HEADER_LIMIT
    try:
        rec = _LOADER.parse_record_stream(src, known_format=fmt, check_digests=True)
    finally:
        src.budget = None
    if fmt == "warc" and not rec.rec_headers.get_header("WARC-Type"):
        raise _NoRecordType("record headers without WARC-Type (cut short, or not a WARC record)")
    return rec


def _content_length_problem(rec: Any, fmt: str) -> str | None:
    if fmt != "warc":
        return None
    value = (rec.rec_headers.get_header("Content-Length") or "").strip()
    return None if value.isdigit() else f"Content-Length is {value!r}, not a byte count"


@dataclass
class _Block:
    payload: bytes | None
    seen: int
    short: int  # bytes the block lacks compared with its Content-Length
    over: bool
    error: GzipError | None


def _read_block(rec: Any, keep: bool, limit: int) -> _Block:
    """Stream the rest of the block (digests update as it is read), holding at most ``limit``."""
    raw = rec.raw_stream
    held: bytearray | None = bytearray() if keep else None
    seen, over, error = 0, False, None
    try:
        while chunk := raw.read(_CHUNK):
            seen += len(chunk)
            if held is not None and len(held) + len(chunk) > limit:
                held, over = None, True
            elif held is not None:
                held += chunk
    except GzipError as exc:
        error = exc
    short = getattr(raw, "limit", 0) or 0
    return _Block(bytes(held) if held is not None else None, seen, short, over, error)


def _boundary(src: _Buffered, fmt: str) -> str:
    """What follows the block: "ok" (the separator, then a record or the end), "bad" (no
    separator: the length is wrong), or "unsure" (a separator, then bytes that are no record:
    either junk after a good record or the rest of a payload whose length is too small)."""
    try:
        if fmt == "warc" and src.read(4) != b"\r\n\r\n":
            return "bad"
        src.skip_blank(_SLACK)
        head = src.peek(5)
    except GzipError:
        return "ok"  # the stream breaks after this record: the next read reports it
    return "ok" if fmt != "warc" or head == b"" or head.startswith(b"WARC/") else "unsure"


def _digest_problem(rec: Any) -> str | None:
    checker = getattr(rec, "digest_checker", None)
    if checker is not None and checker.passed is False:
        return "; ".join(checker.problems)
    return None


def _verdict(rec: Any, block: _Block, boundary: str, next_at: int | None, limit: int) -> Rejection | None:
    if block.error is not None:
        reason = "warc_truncated_record" if block.error.truncated else "warc_corrupt_record"
        return Rejection(reason, detail=str(block.error))
    if block.short:
        if next_at is not None:
            return Rejection("warc_bad_length", detail=f"Content-Length runs past the next record (found at offset {next_at}); {block.short} bytes short of it before the file ends")
        return Rejection("warc_truncated_record", detail=f"payload ends {block.short} bytes before its Content-Length")
    digest = _digest_problem(rec)
    verified = getattr(getattr(rec, "digest_checker", None), "passed", None) is True
    if boundary == "bad" or (boundary == "unsure" and not verified):
        what = "does not end at a record boundary" if boundary == "bad" else "is followed by bytes that are not a record"
        where = f"; the next record starts at offset {next_at}" if next_at is not None else "; no record follows"
        return Rejection("warc_bad_length", detail=f"Content-Length {rec.rec_headers.get_header('Content-Length')} {what}{where}")
    if block.over:
        return Rejection("too_large", rule="max_document_bytes", value=float(block.seen), threshold=float(limit),
                         detail=f"payload larger than [limits] max_document_bytes = {limit} bytes ({block.seen} bytes, counted without holding them)")
    if digest is not None:
        return Rejection("warc_digest_mismatch", detail=digest)
    return None


def _record(rec: Any, offset: int, block: _Block, problem: Rejection | None, addressable: bool = True) -> Record:
    return Record(offset, rec.rec_headers, rec.http_headers, block.payload if problem is None else None, block.seen, problem, addressable)


# -- resynchronisation ----------------------------------------------------------------------


def _scan(fh: BinaryIO, start: int, pattern: bytes, accept: Callable[[int], bool]) -> int | None:
    """The first position >= ``start`` where ``pattern`` begins and ``accept`` agrees."""
    pos = start
    carry = b""
    while True:
        fh.seek(pos)
        block = fh.read(_SCAN)
        if not block:
            return None
        window = carry + block
        base = pos - len(carry)
        i = window.find(pattern)
        while i >= 0:
            if base + i >= start and accept(base + i):
                return base + i
            i = window.find(pattern, i + 1)
        carry = window[-(len(pattern) - 1):]
        pos += len(block)


def starts_record(fh: BinaryIO, offset: int, fmt: str = "warc") -> bool:
    """True when the gzip member at ``offset`` inflates to the start of a record."""
    try:
        stream = _GzipStream(fh, offset)
        head = b""
        while len(head) < 64:
            more = stream.read(64)
            if not more:
                break
            head += more
    except GzipError:
        return False
    head = head.lstrip(_BLANK)
    if fmt == "warc":
        return head.startswith(b"WARC/1.")
    return re.match(rb"[a-z][a-z0-9+.\-]*:", head) is not None


def _next_member(fh: BinaryIO, start: int, fmt: str) -> int | None:
    return _scan(fh, start, GZIP_MAGIC, lambda at: starts_record(fh, at, fmt))


def _member_damage(fh: BinaryIO, offset: int) -> str | None:
    """Why the gzip member at ``offset`` does not inflate cleanly to its end, or None if it does.

    Damaged deflate data can inflate to garbage of plausible shape and fail only at the member's
    CRC; the record then looks as if its Content-Length lied. Inflated again here (streaming,
    nothing held) so such a record is reported as the corrupt member it is.
    """
    fh.seek(offset)
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        while not d.eof:
            data = d.unconsumed_tail or fh.read(_CHUNK)
            if not data:
                return f"gzip member at offset {offset} is truncated"
            d.decompress(data, _CHUNK)
    except zlib.error as exc:
        return f"gzip member at offset {offset} is corrupt: {exc}"
    return None


def _next_plain(fh: BinaryIO, start: int, fmt: str) -> int | None:
    if fmt != "warc":
        return None
    at = _scan(fh, start - 1, _NEXT_WARC, lambda _: True)
    return at + 1 if at is not None else None


# -- iteration ------------------------------------------------------------------------------


def _plain_records(fh: BinaryIO, start: int, fmt: str, keep: Callable[[str], bool], limit: int) -> Iterator[Record | Lost]:
    pos = start
    while True:
        fh.seek(pos)
        src = _Buffered(fh.read, pos)
        nxt: int | None = None
        while True:
            src.skip_blank(_SLACK)
            at = src.pos
            if not src.peek(1):
                return
            try:
                rec = _parse(src, fmt)
                bad_length = _content_length_problem(rec, fmt)
            except _HEADER_ERRORS as exc:
                nxt = _next_plain(fh, at + 1, fmt)
                yield Lost(at, nxt, f"no readable record at offset {at}: {type(exc).__name__}: {str(exc).strip()[:300]}")
                break
            if bad_length:
                nxt = _next_plain(fh, at + 1, fmt)
                yield _record(rec, at, _Block(None, 0, 0, False, None), Rejection("warc_bad_length", detail=bad_length))
                break
            block = _read_block(rec, keep(rec.rec_type), limit)
            boundary = "bad" if block.short else _boundary(src, fmt)
            problem = _verdict(rec, block, boundary, None, limit)
            if problem is None or problem.reason not in _FRAMING:
                yield _record(rec, at, block, problem)
                continue
            nxt = _next_plain(fh, at + 1, fmt)
            yield _record(rec, at, block, _verdict(rec, block, boundary, nxt, limit))
            break
        if nxt is None:
            return
        pos = nxt


def _gzip_records(fh: BinaryIO, start: int, end: int | None, fmt: str, keep: Callable[[str], bool], limit: int) -> Iterator[Record | Lost]:
    pos = start
    while end is None or pos < end:
        stream = _GzipStream(fh, pos)
        src = _Buffered(stream.read)
        block_end = 0  # inflated position where the last record's block ended
        nxt: int | None = None
        while True:
            try:
                src.skip_blank(_SLACK)
                has_more = bool(src.peek(1))
            except GzipError as exc:
                if end is not None and exc.offset >= end:
                    return  # a member of the next range: that range reports it
                nxt = _next_member(fh, exc.offset + 1, fmt)
                yield Lost(exc.offset, nxt, str(exc))
                break
            if not has_more:
                return
            member, member_start = stream.member_at(src.pos)
            if end is not None and member >= end:
                return
            addressable = member_start >= block_end
            try:
                rec = _parse(src, fmt)
                bad_length = _content_length_problem(rec, fmt)
            except (*_HEADER_ERRORS, GzipError) as exc:
                nxt = _next_member(fh, member + 1, fmt)
                yield Lost(member, nxt, f"no readable record in the gzip member at offset {member}: {type(exc).__name__}: {str(exc).strip()[:300]}")
                break
            if bad_length:
                nxt = _next_member(fh, member + 1, fmt)
                yield _record(rec, member, _Block(None, 0, 0, False, None), Rejection("warc_bad_length", detail=bad_length), addressable)
                break
            block = _read_block(rec, keep(rec.rec_type), limit)
            block_end = src.pos
            boundary = "bad" if block.short or block.error is not None else _boundary(src, fmt)
            problem = _verdict(rec, block, boundary, None, limit)
            if problem is None or problem.reason not in _FRAMING:
                yield _record(rec, member, block, problem, addressable)
                continue
            nxt = _next_member(fh, member + 1, fmt)
            problem = _verdict(rec, block, boundary, nxt, limit)
            if problem.reason == "warc_bad_length" and (damage := _member_damage(fh, member)):
                problem = Rejection("warc_corrupt_record", detail=f"{damage} (so its Content-Length cannot be checked)")
            yield _record(rec, member, block, problem, addressable)
            break
        if nxt is None:
            return
        pos = nxt


def archive_format(location: str) -> str:
    """'arc' for ARC files (by name), else 'warc'."""
    name = location.lower()
    return "arc" if name.endswith((".arc", ".arc.gz")) else "warc"


def iter_records(
    location: str, start: int = 0, end: int | None = None, limit: int = 64 << 20,
    keep: Callable[[str], bool] = lambda rec_type: rec_type in DOCUMENT_RECORD_TYPES,
) -> Iterator[Record | Lost]:
    """Every record whose (member) offset lies in ``[start, end)``, and every region that holds
    none; payloads are held for record types ``keep`` accepts. Gzip or not is told by the bytes."""
    fmt = archive_format(location)
    with storage.open_read(location) as fh:
        fh.seek(start)
        gzipped = fh.read(3) == GZIP_MAGIC
        if gzipped:
            yield from _gzip_records(fh, start, end, fmt, keep, limit)
        elif start == 0:
            yield from _plain_records(fh, start, fmt, keep, limit)
        else:
            raise ValueError(f"{location}: an uncompressed archive is read whole, not from offset {start}")


def record_at(location: str, offset: int, limit: int) -> Record:
    """The record at ``offset`` (a record start, or the gzip member it starts in)."""
    fmt = archive_format(location)
    with storage.open_read(location) as fh:
        fh.seek(offset)
        gzipped = fh.read(3) == GZIP_MAGIC
        records = _gzip_records(fh, offset, None, fmt, lambda _: True, limit) if gzipped else _plain_records(fh, offset, fmt, lambda _: True, limit)
        for item in records:
            if isinstance(item, Record) and item.offset == offset:
                return item
            break
    raise LookupError(f"{location}: no record at offset {offset}")


def member_cuts(location: str, size: int, target_bytes: int) -> tuple[str, tuple[int, ...]]:
    """sha256 of a ``.warc.gz`` and the offsets of gzip members, about ``target_bytes`` apart,
    each checked to inflate to a WARC header; found in the pass that hashes the file."""
    h = hashlib.sha256()
    cuts = [0]
    pos = 0
    carry = b""
    next_cut = target_bytes if 0 < target_bytes < size else None
    fmt = archive_format(location)
    probe: BinaryIO | None = None
    try:
        for block in storage.iter_file(location):
            h.update(block)
            window, base = carry + block, pos - len(carry)
            while next_cut is not None:
                i = window.find(GZIP_MAGIC, max(next_cut - base, 0))
                if i < 0 or base + i + len(GZIP_MAGIC) > pos + len(block):
                    break
                candidate = base + i
                probe = probe or storage.open_read(location)
                if starts_record(probe, candidate, fmt):
                    cuts.append(candidate)
                    next_cut = candidate + target_bytes if candidate + target_bytes < size else None
                else:
                    next_cut = candidate + 1
            carry = window[-(len(GZIP_MAGIC) - 1):]
            pos += len(block)
    finally:
        if probe is not None:
            probe.close()
    return h.hexdigest(), tuple(cuts)
