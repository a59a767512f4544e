"""WARC/ARC files (crawls, ``corpus fetch`` output, Common Crawl extracts): one document per
response/resource record, or several when the payload is itself a multi-document format.

The locator is the file and the record's offset (``warc:<path>#<offset>``), so every document can
be reopened from the exact record it came from. Framing and integrity are checked in
corpus.sources.warc: a record whose length or digest is wrong, that is truncated or corrupt, or
whose payload passes ``[limits] max_document_bytes`` is a rejection naming its offset, and the
records after it are still read.

Payload dispatch: a 2xx payload whose media type a registered reader lists in ``content_types``
and whose first bytes it ``sniff``s (e-Gov law XML, 国会会議録 API XML...) is read by that reader,
with the record's locator: ``warc:<path>#<offset>`` for a single document, and
``warc:<path>#<offset>/<part>`` for each document of a multi-document payload (a meeting's
issueID). Other payloads (HTML, text, PDF) stay raw bytes for the extract stage.

A ``.warc.gz`` splits into ranges at gzip member offsets; a range reads the records whose member
starts inside it.
"""

from __future__ import annotations

from collections.abc import Iterator

from corpus.document import sha256_hex
from corpus.io.bounded import ReadLimits, TooLarge
from corpus.sources.inputs import InputRange
from corpus.sources.registry import HEAD_BYTES, Located, Plan, Reader, payload_reader, read_payload, register
from corpus.sources.rows import Item, Origin, too_large
from corpus.sources.warc import DOCUMENT_RECORD_TYPES, Lost, Record, charset_param, iter_records, media_type, member_cuts, record_at
from corpus.stage import Rejection


def _http_status(record: Record) -> int | None:
    """The HTTP status of a response record; None for resource records and unparsable lines."""
    if record.type != "response" or record.http is None:
        return None
    try:
        return int(record.http.get_statuscode())
    except (TypeError, ValueError):
        return None


def _fields(record: Record) -> dict:
    return {
        "url": record.header("WARC-Target-URI"),
        "input_offset": record.offset,
        "fetch_time": record.header("WARC-Date"),
        "warc_record_id": record.header("WARC-Record-ID"),
        "payload_digest": record.header("WARC-Payload-Digest"),
    }


@register
class WarcReader(Reader):
    kind = "warc"
    suffixes = (".warc", ".warc.gz", ".arc", ".arc.gz")
    locator_kind = "warc"
    locator_fragment = r"[0-9]+(/[^#]+)?"
    description = "WARC/ARC (gzip or not): response and resource records; locator warc:<path>#<record offset>[/<part>]"

    def plan(self, location: str, size: int, target_bytes: int) -> Plan:
        if not location.lower().endswith(".warc.gz"):
            return super().plan(location, size, target_bytes)
        digest, cuts = member_cuts(location, size, target_bytes)
        ends = (*cuts[1:], None)
        return Plan(digest, tuple((start, end, 1) for start, end in zip(cuts, ends)))

    def range_locator(self, rng: InputRange) -> str:
        return f"warc:{rng.file.path}" + ("" if rng.whole else f"#{rng.start}")

    def read(self, rng: InputRange, limits: ReadLimits) -> Iterator[Item]:
        f = rng.file
        origin = Origin.of_file(f, self.locator_kind)
        for item in iter_records(f.location, rng.start, rng.end, limits.max_document_bytes):
            if isinstance(item, Lost):
                rest = f"up to offset {item.end}" if item.end is not None else "to the end of the file"
                why = Rejection("warc_unreadable", detail=f"{item.detail}; bytes from offset {item.offset} {rest} skipped")
                yield origin.reject(why, locator=f"warc:{f.path}#{item.offset}", tag=f"lost:{item.offset}")
            elif item.type in DOCUMENT_RECORD_TYPES:
                yield from self._record(item, Origin(f, f"warc:{f.path}#{item.offset}", True, _fields(item)), limits)

    def _record(self, record: Record, origin: Origin, limits: ReadLimits) -> Iterator[Item]:
        if not record.addressable:
            detail = "record compressed in the same gzip member as the record before it: its offset cannot reopen it (recompress with one record per member, e.g. `warcio recompress`)"
            yield origin.reject(Rejection("warc_not_chunked", detail=detail), tag=f"inside:{record.header('WARC-Record-ID')}")
            return
        if record.problem is not None:
            yield origin.reject(record.problem, tag=record.problem.reason)
            return
        if truncated := record.header("WARC-Truncated"):
            yield origin.reject(Rejection("warc_truncated_record", detail=f"WARC-Truncated: {truncated}"), raw_sha256=sha256_hex(record.payload or b""))
            return
        status = _http_status(record)
        if status is not None and not 200 <= status < 300:
            # A crawl keeps its 404s, 5xx attempts and redirects for the record; they are no documents.
            why = Rejection("http_status", value=float(status), detail=record.http.statusline)
            yield origin.reject(why, raw_sha256=sha256_hex(record.payload or b""))
            return
        try:
            content = record.content(limits.max_document_bytes)
        except TooLarge as exc:
            yield origin.reject(too_large(exc), tag="too_large")
            return
        content_type = record.content_type
        inner = payload_reader(media_type(content_type), content[:HEAD_BYTES])
        if inner is not None:
            yield from read_payload(inner, content, origin, limits)
            return
        yield origin.row(origin.locator, sha256_hex(content), content_type=content_type, http_charset=charset_param(content_type), raw=content)

    def reopen(self, location: str, fragment: str | None, text_column: str = "text") -> Located:
        offset, _, part = (fragment or "0").partition("/")
        limit = ReadLimits().max_document_bytes
        record = record_at(location, int(offset), limit)
        if record.problem is not None:
            raise LookupError(f"{location}#{offset}: {record.problem.reason}: {record.problem.detail}")
        content = record.content(limit)
        if part:
            inner = payload_reader(media_type(record.content_type), content[:HEAD_BYTES])
            if inner is None:
                raise LookupError(f"{location}#{offset}: the payload holds no documents to pick {part!r} from")
            content = inner.payload_of(content, part)
        return Located("warc", location, content, dict(record.headers.headers))

