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
not proceedings. The locator is ``kokkai:<path>#<issueID>``; the bytes behind it (``raw_sha256``)
are the canonical XML (C14N) of the meeting's records, which ``locate.open_locator`` rebuilds.
An API error response (``<data><message>…``) or a response with no records is one rejection.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree

from corpus.document import sha256_hex
from corpus.sources.inputs import InputFile
from corpus.sources.xml import parse_xml, xml_encoding
from corpus.sources.rows import Item, failed_row, text_row, whole_file_reader
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
    payload: bytes

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


def _c14n(elements: list[Any]) -> bytes:
    return b"".join(etree.tostring(e, method="c14n") for e in elements)


def meetings(root: Any) -> list[Meeting]:
    """Every meeting of a meeting- or speech-endpoint response, in the order the response has them."""
    out = []
    for m in root.iter("meetingRecord"):
        speeches = sorted(m.findall("speechRecord"), key=_order)
        out.append(Meeting(_fields(m), tuple(speeches), _c14n([m])))
    if out:
        return out
    groups: dict[str, list[Any]] = {}
    for s in root.iter("speechRecord"):  # speech endpoint: records carry their meeting's fields
        groups.setdefault((s.findtext("issueID") or "").strip(), []).append(s)
    for records in groups.values():
        speeches = sorted(records, key=_order)
        out.append(Meeting(_fields(speeches[0]), tuple(speeches), _c14n(records)))
    return out


def api_error(root: Any) -> str | None:
    """The API's own error message, if this is an error response."""
    message = root.findtext("message")
    if root.tag == "data" and message is not None:
        details = " ".join((d.text or "").strip() for d in root.iter("detail"))
        return f"{message.strip()} {details}".strip()
    return None


@whole_file_reader("kokkai")
def read_kokkai_xml_file(inp: InputFile, locator: str, data: bytes, digest: str) -> Iterator[Item]:
    """One document per meeting in a 国会会議録検索システム API XML response."""
    try:
        root = parse_xml(data)
    except etree.XMLSyntaxError as exc:
        yield failed_row(inp, locator, digest), Rejection("xml_parse_error", detail=str(exc)[:500])
        return
    if (message := api_error(root)) is not None:
        yield failed_row(inp, locator, digest), Rejection("kokkai_api_error", detail=message[:500])
        return
    encoding = xml_encoding(root)
    found = meetings(root)
    if not found:
        yield failed_row(inp, locator, digest), Rejection("kokkai_no_records", detail=f"no meetingRecord or speechRecord (root <{root.tag}>)")
        return
    for m in found:
        where = f"kokkai:{inp.path}#{m.issue_id}"
        yield text_row(
            inp, where, m.text(), sha256_hex(m.payload), encoding, f"xml-declaration:{encoding}", "application/xml",
            url=m.fields.get("meetingURL") or None, title=m.title,
        )
