"""Read response (and resource) records out of WARC / WARC.gz files as raw documents.

The locator is the file and the record's byte offset, so every document can be reopened from the
exact record it came from. A truncated or corrupt record becomes a rejection with that locator;
it never takes the rest of the run down with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from corpus.document import make_doc_id, sha256_hex
from corpus.io import storage
from corpus.sources.inputs import InputFile
from corpus.stage import Rejection

DOCUMENT_RECORD_TYPES = ("response", "resource")


def warc_locator(path: str, offset: int) -> str:
    return f"warc:{path}#{offset}"


def charset_param(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'").lower()
    return None


def _http_status(record: Any) -> int | None:
    """The HTTP status of a response record; None for resource records and unparsable lines."""
    if record.rec_type != "response" or record.http_headers is None:
        return None
    try:
        return int(record.http_headers.get_statuscode())
    except (TypeError, ValueError):
        return None


def read_warc_file(inp: InputFile) -> Iterator[dict[str, Any] | tuple[dict[str, Any], Rejection]]:
    """Yield a raw row per response/resource record; (row, Rejection) for broken records.

    Records that are not documents (warcinfo, request, metadata, revisit) are skipped: they carry
    no page text. A record whose payload is shorter than its Content-Length is truncated and is
    rejected; when the file's framing itself breaks, the rest of the file is one rejection naming
    the offset where reading stopped.
    """
    base = {"source": inp.source, "license": inp.license, "input_path": inp.path}
    offset = 0
    try:
        with storage.open_read(inp.location) as fh:
            it = ArchiveIterator(fh, arc2warc=True)
            for record in it:
                if record.rec_type not in DOCUMENT_RECORD_TYPES:
                    offset = it.get_record_offset()
                    continue
                payload: bytes | None = None
                error: Exception | None = None
                try:
                    # Read before asking for the offset: warcio computes the offset by reading the
                    # record to its end, which would leave the payload stream empty.
                    payload = record.content_stream().read()
                except Exception as exc:  # zlib/chunking errors inside one record
                    error = exc
                missing = getattr(record.raw_stream, "limit", 0) or 0
                offset = it.get_record_offset()
                locator = warc_locator(inp.path, offset)
                row = {
                    **base,
                    "locator": locator,
                    "url": record.rec_headers.get_header("WARC-Target-URI"),
                    "input_offset": offset,
                    "fetch_time": record.rec_headers.get_header("WARC-Date"),
                    "warc_record_id": record.rec_headers.get_header("WARC-Record-ID"),
                    "payload_digest": record.rec_headers.get_header("WARC-Payload-Digest"),
                }
                if payload is None:
                    row["doc_id"] = make_doc_id(locator, "corrupt")
                    yield row, Rejection("warc_corrupt_record", detail=f"{type(error).__name__}: {error}")
                    continue
                digest = sha256_hex(payload)
                row["doc_id"] = make_doc_id(locator, digest)
                if missing > 0:
                    yield row, Rejection(
                        "warc_truncated_record",
                        detail=f"payload ends {missing} bytes before its Content-Length",
                    )
                    continue
                if record.rec_headers.get_header("WARC-Truncated"):
                    yield row, Rejection(
                        "warc_truncated_record",
                        detail=f"WARC-Truncated: {record.rec_headers.get_header('WARC-Truncated')}",
                    )
                    continue
                status = _http_status(record)
                if status is not None and not 200 <= status < 300:
                    # A crawl keeps its 404s, 5xx attempts and redirects for the record; they are no documents.
                    yield row, Rejection("http_status", value=float(status), detail=record.http_headers.statusline)
                    continue
                content_type = (
                    record.http_headers.get_header("Content-Type")
                    if record.http_headers is not None
                    else record.rec_headers.get_header("Content-Type")
                )
                row.update(
                    content_type=content_type,
                    http_charset=charset_param(content_type),
                    raw_sha256=digest,
                    raw=payload,
                )
                yield row
    except (ArchiveLoadFailed, OSError, EOFError, ValueError) as exc:
        locator = warc_locator(inp.path, offset)
        row = {**base, "locator": locator, "input_offset": offset, "doc_id": make_doc_id(locator, "unreadable")}
        yield row, Rejection("warc_unreadable", detail=f"{type(exc).__name__}: {str(exc).strip()[:500]}")
