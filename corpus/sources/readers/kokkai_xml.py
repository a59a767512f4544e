"""Read Diet proceedings (国会会議録) as the NDL's 国会会議録検索システム API returns them.

One document per meeting (会議), not per speech: a speech ("はい。", "御異議なしと認めます。") is
often a line, and a meeting is the unit that reads as a text. It is also the unit the licence
allows without doubt: Copyright Act art. 40(1) frees political speeches except a collection of
one speaker's speeches, which a per-speaker grouping would be.

Both XML forms of the API are read:

* the meeting endpoint (``/api/meeting``): ``<meetingRecord>`` elements, each holding its
  ``<speechRecord>`` children;
* the speech endpoint (``/api/speech``): bare ``<speechRecord>`` elements, each carrying its
  meeting's ``issueID`` and names; they are grouped into one document per ``issueID``, in order.

The text is a title line (第212回国会 衆議院 文部科学委員会 第2号（2023-11-08）) and then every
speech in ``speechOrder``, as the NDL prints it (each starts with its speaker mark ``○田野瀬委員長``).
The ``会議録情報`` record (speechOrder 0: attendance lists, agenda) is left out: it lists names,
not proceedings. The locator is ``kokkai:<path>#<issueID>`` (``warc:<path>#<offset>/<issueID>``
for a response inside a WARC record, as ``corpus fetch`` stores it); the bytes behind it
(``raw_sha256``) are the canonical XML (C14N) of the meeting's records, which ``open_locator``
rebuilds. An API error response (``<data><message>…``) or a response with no records is one
rejection. Entities the response declares itself are read as text (corpus.sources.xml).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree

from corpus.document import sha256_hex
from corpus.io.bounded import ReadLimits
from corpus.sources.registry import Reader, register
from corpus.sources.rows import Item, Origin, failure
from corpus.sources.xml import XML_TYPES, XmlPayload, parse_payload, parse_xml, root_tag
from corpus.stage import Rejection

#: The speaker name of the per-meeting header record (attendance, agenda), which is not a speech.
HEADER_SPEAKER = "会議録情報"
#: Meeting-level fields (on <meetingRecord>, and repeated on every speech-endpoint <speechRecord>).
MEETING_FIELDS = ("issueID", "imageKind", "session", "nameOfHouse", "nameOfMeeting", "issue", "date", "meetingURL", "pdfURL")


@dataclass(frozen=True)
class Meeting:
    """One meeting of a response: its metadata, its speech records, and the bytes they came from."""

    fields: dict[str, str]
    speeches: tuple[Any, ...]  # <speechRecord> elements, in speechOrder
    records: tuple[Any, ...]  # the elements whose canonical XML is the meeting's bytes

    def payload(self) -> bytes:
        """The canonical XML (C14N) of the meeting's records: what its locator reopens."""
        return b"".join(etree.tostring(e, method="c14n") for e in self.records)

    @property
    def issue_id(self) -> str:
        return self.fields["issueID"]

    @property
    def title(self) -> str:
        f = self.fields
        session = f"第{f['session']}回国会 " if f.get("session") else ""
        date = f"（{f['date']}）" if f.get("date") else ""
        return f"{session}{f.get('nameOfHouse', '')} {f.get('nameOfMeeting', '')} {f.get('issue', '')}".strip() + date

    def text(self) -> str:
        spoken = [(s.findtext("speech") or "").strip() for s in self.speeches if s.findtext("speaker") != HEADER_SPEAKER]
        return "\n".join([self.title, *[s for s in spoken if s]])


def _fields(el: Any) -> dict[str, str]:
    return {name: (el.findtext(name) or "").strip() for name in MEETING_FIELDS}


def _order(speech: Any) -> int:
    order = (speech.findtext("speechOrder") or "").strip()
    return int(order) if order.isdigit() else 0


def meetings(root: Any) -> list[Meeting]:
    """Every meeting of a meeting- or speech-endpoint response, in the order the response has them."""
    out = []
    for m in root.iter("meetingRecord"):
        speeches = sorted(m.findall("speechRecord"), key=_order)
        out.append(Meeting(_fields(m), tuple(speeches), (m,)))
    if out:
        return out
    groups: dict[str, list[Any]] = {}
    for s in root.iter("speechRecord"):  # speech endpoint: records carry their meeting's fields
        groups.setdefault((s.findtext("issueID") or "").strip(), []).append(s)
    for records in groups.values():
        speeches = sorted(records, key=_order)
        out.append(Meeting(_fields(speeches[0]), tuple(speeches), tuple(records)))
    return out


def api_error(root: Any) -> str | None:
    """The API's own error message, if this is an error response."""
    message = root.findtext("message")
    if root.tag == "data" and message is not None:
        details = " ".join((d.text or "").strip() for d in root.iter("detail"))
        return f"{message.strip()} {details}".strip()
    return None


@register
class KokkaiXmlReader(Reader):
    kind = "kokkai_xml"
    suffixes = (".xml",)
    priority = 1  # asked before law XML: its responses are recognised by their <data> root
    locator_kind = "kokkai"
    locator_fragment = r"[^#]+"
    content_types = XML_TYPES
    multi_document = True
    description = "国会会議録 API XML (root <data>), one document per meeting; locator kokkai:<path>#<issueID>"

    def sniff(self, head: bytes) -> bool:
        return root_tag(head) == "data"

    def documents(self, data: bytes, origin: Origin, limits: ReadLimits) -> Iterator[Item]:
        """One document per meeting in a 国会会議録検索システム API XML response."""
        parsed = parse_payload(data, origin)
        if not isinstance(parsed, XmlPayload):
            yield parsed
            return
        if (message := api_error(parsed.root)) is not None:
            yield parsed.reject(origin, Rejection("kokkai_api_error", detail=message[:500]))
            return
        found = meetings(parsed.root)
        if not found:
            yield parsed.reject(origin, Rejection("kokkai_no_records", detail=f"no meetingRecord or speechRecord (root <{parsed.root.tag}>)"))
            return
        for m in found:
            where = origin.locate(part=m.issue_id or "unknown")
            try:
                payload = m.payload()
                yield parsed.row(origin, where, m.text(), sha256_hex(payload), url=m.fields.get("meetingURL") or None, title=m.title)
            except Exception as exc:  # one malformed meeting costs that meeting, not the response
                yield origin.reject(failure("reader_error", exc), locator=where, tag="reader_error")

    def payload_of(self, data: bytes, part: str | None) -> bytes:
        found = [m for m in meetings(parse_xml(data)) if (m.issue_id or "unknown") == part]
        if not found:
            raise LookupError(f"no meeting {part!r} in this response")
        return found[0].payload()
