"""Read a WARC the strict way, for tests: every record to its end, digests checked, nothing left over.

Independent of warcio's own framing, the number of gzip members (one per record in our files) is
counted too, so a truncated or half-written last record cannot hide.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator


@dataclass
class Record:
    file: str
    offset: int
    type: str
    uri: str | None
    headers: Any  # warcio StatusAndHeaders of the WARC record
    http: Any  # StatusAndHeaders of the HTTP message, or None
    payload: bytes  # the body as stored (Content-Encoding intact)


def gzip_members(data: bytes) -> int:
    """How many complete gzip members ``data`` holds; raises if the last one is cut short."""
    count, rest = 0, data
    while rest:
        d = zlib.decompressobj(31)
        while not d.eof:  # drain in bounded steps: a member may inflate to much more than it stores
            out = d.decompress(rest, 1 << 20)
            rest = d.unconsumed_tail
            if not out and not rest:
                break
        if not d.eof:
            raise ValueError(f"gzip member {count} is truncated")
        count += 1
        rest = d.unused_data
    return count


def read_warc_strictly(path: Path) -> list[Record]:
    records = []
    with path.open("rb") as fh:
        it = ArchiveIterator(fh, check_digests="raise")
        for rec in it:
            payload = rec.raw_stream.read()
            records.append(Record(path.name, it.get_record_offset(), rec.rec_type, rec.rec_headers.get_header("WARC-Target-URI"),
                                  rec.rec_headers, rec.http_headers, payload))
    if path.name.endswith(".gz"):
        members = gzip_members(path.read_bytes())
        assert members == len(records), f"{path.name}: {members} gzip members but warcio read {len(records)} records"
    return records


def read_warc_dir(directory: Path) -> list[Record]:
    return [r for p in sorted(directory.glob("*.warc*")) for r in read_warc_strictly(p)]
