"""The pages of one Parquet column chunk, read from their headers without decoding them.

Why this exists: a Parquet value cannot be read in part, and pyarrow decodes a whole page to read
any row of it, so a 30 KB file whose one cell inflates to gigabytes would make a worker hold
gigabytes. The footer only gives a row group's total size; the size of each page (and the rows it
holds) is in the page headers. pyarrow does not expose them, so this walks them: a page header
is a small Thrift struct in the compact protocol (parquet-format's ``PageHeader``), and only its
sizes and value counts are needed. Nothing here decompresses anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO

#: PageHeader.type values (parquet-format).
DATA_PAGE, INDEX_PAGE, DICTIONARY_PAGE, DATA_PAGE_V2 = 0, 1, 2, 3
_PROBE = 64 * 1024
_MAX_HEADER = 4 * 1024 * 1024


class PageHeaderError(ValueError):
    """A page header that cannot be parsed (a corrupt or hostile file)."""


@dataclass(frozen=True)
class Page:
    """One page of a column chunk: its kind, decoded size, and for data pages the rows it holds."""

    type: int
    uncompressed_size: int
    rows: int  # values for v1 data pages (one per row in a flat column), 0 for dictionary pages


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7
        if shift > 63:
            raise PageHeaderError("varint longer than 64 bits")


def _zigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _skip(buf: bytes, i: int, ttype: int, in_container: bool = False, depth: int = 0) -> int:
    """Skip one value of compact-protocol type ``ttype`` starting at ``i``."""
    if depth > 32:
        raise PageHeaderError("nesting too deep")
    if ttype in (1, 2):  # booleans: in the field header for struct fields, one byte in containers
        return i + 1 if in_container else i
    if ttype == 3:
        return i + 1
    if ttype in (4, 5, 6):
        return _varint(buf, i)[1]
    if ttype == 7:
        return i + 8
    if ttype == 8:
        n, i = _varint(buf, i)
        return i + n
    if ttype in (9, 10):  # list, set
        head = buf[i]
        i += 1
        size, etype = head >> 4, head & 0x0F
        if size == 15:
            size, i = _varint(buf, i)
        for _ in range(size):
            i = _skip(buf, i, etype, True, depth + 1)
        return i
    if ttype == 11:  # map
        size, i = _varint(buf, i)
        if size:
            kv = buf[i]
            i += 1
            for _ in range(size):
                i = _skip(buf, i, kv >> 4, True, depth + 1)
                i = _skip(buf, i, kv & 0x0F, True, depth + 1)
        return i
    if ttype == 12:
        return _struct(buf, i, {}, depth + 1)[1]
    raise PageHeaderError(f"unknown compact type {ttype}")


def _struct(buf: bytes, i: int, want: dict[int, Any], depth: int = 0) -> tuple[dict[int, Any], int]:
    """Read a struct; ``want`` maps field ids to read: ``int`` for i32 fields, a nested ``want``
    dict for struct fields. Other fields are skipped."""
    out: dict[int, Any] = {}
    fid = 0
    while True:
        b = buf[i]
        i += 1
        if b == 0:
            return out, i
        delta, ttype = b >> 4, b & 0x0F
        if delta:
            fid += delta
        else:
            raw, i = _varint(buf, i)
            fid = _zigzag(raw)
        spec = want.get(fid)
        if spec is int and ttype == 5:
            raw, i = _varint(buf, i)
            out[fid] = _zigzag(raw)
        elif isinstance(spec, dict) and ttype == 12:
            out[fid], i = _struct(buf, i, spec, depth + 1)
        else:
            i = _skip(buf, i, ttype, False, depth)


#: PageHeader fields: 1 type, 2 uncompressed size, 3 compressed size, 5 DataPageHeader
#: (1 num_values), 8 DataPageHeaderV2 (3 num_rows).
_PAGE_HEADER = {1: int, 2: int, 3: int, 5: {1: int}, 8: {3: int}}


def _header(fh: BinaryIO, pos: int) -> tuple[dict[int, Any], int]:
    """The header at ``pos`` and its length, reading more only if it is longer than a probe."""
    size = _PROBE
    while True:
        fh.seek(pos)
        buf = fh.read(size)
        try:
            return _struct(buf, 0, _PAGE_HEADER)
        except IndexError:
            if len(buf) < size or size >= _MAX_HEADER:
                raise PageHeaderError(f"page header at offset {pos} is truncated or longer than {_MAX_HEADER} bytes") from None
            size *= 4


def column_pages(fh: BinaryIO, chunk: Any) -> list[Page]:
    """Every page of a column chunk (``pyarrow.parquet.ColumnChunkMetaData``), in file order."""
    start = chunk.dictionary_page_offset if chunk.has_dictionary_page and chunk.dictionary_page_offset else chunk.data_page_offset
    end = start + chunk.total_compressed_size
    pages: list[Page] = []
    pos = start
    while pos < end:
        h, length = _header(fh, pos)
        if 1 not in h or 2 not in h or 3 not in h or h[3] < 0 or h[2] < 0:
            raise PageHeaderError(f"page header at offset {pos} lacks its sizes")
        rows = h.get(8, {}).get(3) if h[1] == DATA_PAGE_V2 else h.get(5, {}).get(1)
        pages.append(Page(h[1], h[2], rows or 0))
        pos += length + h[3]
    return pages
