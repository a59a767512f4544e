"""Open the exact bytes a document's locator points at (the inverse of the readers' locators).

For every reader, ``sha256(open_locator(doc.locator).payload) == doc.raw_sha256``: a WARC
locator reopens the record at its byte offset, a JSONL locator its line, a Parquet locator its
row's text, and file/law/pdf locators the whole file. This is how provenance is checked, by a
test or by a person holding a shard row.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field

from warcio.archiveiterator import ArchiveIterator

from corpus.sources.inputs import parse_xml
from corpus.sources.kokkai import meetings


@dataclass
class Located:
    kind: str
    path: str
    payload: bytes
    headers: dict[str, str] = field(default_factory=dict)  # WARC record headers, for WARC locators


def split_locator(locator: str) -> tuple[str, str, str | None]:
    """(kind, path, fragment) of ``kind:path#fragment``; the fragment is after the last '#'."""
    kind, _, rest = locator.partition(":")
    path, sep, frag = rest.rpartition("#")
    return (kind, path, frag) if sep else (kind, rest, None)


def open_warc_record(path: str, offset: int) -> Located:
    """The record starting at ``offset`` in a WARC/WARC.gz file: its headers and decoded payload."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        record = next(iter(ArchiveIterator(fh)))
        payload = record.content_stream().read()
        headers = dict(record.rec_headers.headers)
    return Located("warc", path, payload, headers)


def open_locator(locator: str, text_column: str = "text") -> Located:
    """The bytes behind ``locator`` (``text_column``: the Parquet column the input was read with)."""
    kind, path, frag = split_locator(locator)
    if kind == "warc":
        return open_warc_record(path, int(frag or 0))
    if kind == "jsonl":
        opener = gzip.open if path.lower().endswith(".gz") else open
        with opener(path, "rb") as fh:
            for lineno, line in enumerate(fh, 1):
                if lineno == int(frag or 0):
                    return Located(kind, path, line.rstrip(b"\r\n"))
        raise LookupError(f"{locator}: no such line")
    if kind == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        row = int(frag or 0)
        for rg in range(pf.num_row_groups):
            n = pf.metadata.row_group(rg).num_rows
            if row < n:
                text = pf.read_row_group(rg, columns=[text_column]).column(0)[row].as_py()
                return Located(kind, path, (text or "").encode("utf-8"))
            row -= n
        raise LookupError(f"{locator}: no such row")
    if kind == "kokkai":
        with open(path, "rb") as fh:
            found = [m for m in meetings(parse_xml(fh.read())) if m.issue_id == frag]
        if not found:
            raise LookupError(f"{locator}: no such meeting")
        return Located(kind, path, found[0].payload)
    if kind in ("file", "law", "pdf"):
        with open(path, "rb") as fh:
            return Located(kind, path, fh.read())
    raise ValueError(f"unknown locator kind {kind!r} in {locator!r}")
