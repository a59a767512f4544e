"""Read e-Gov law XML (法令標準XML) into readable text that keeps the law's structure.

Why not strip tags: a statute's meaning hangs on its numbering. "第三条第二項第一号" only makes
sense if the text still says 第三条, ２ and 一 where the XML has Article, Paragraph and Item, and
headings (第一編/第一章/第一節) mark where a provision sits. The reader renders one line per
heading, article caption, paragraph, item and table row, in document order:

    会社法
    平成十七年法律第八十六号
    第一編　総則
    第一章　通則
    （趣旨）
    第一条　会社の設立、組織、運営及び管理については、…
    ２　…
    一　…

The table of contents (目次) is left out: it repeats the headings that follow. Ruby readings
(<Rt>) are dropped so 漢字 is not followed by its かな. The locator is
``law:<path>#<LawID>@<revision>``; the LawID and revision come from the XML (Law/@LawId, the v2
API's law_info/revision_info) or else from the e-Gov file name ``<LawID>_<date>_<amending id>``.
A v1 API error envelope (<DataRoot><Result><Code>1</Code>…) and XML without a <Law> are rejected
with the reason and the API's own message. A law XML response inside a WARC record (``corpus
fetch`` of the e-Gov API) reads the same way, located by its record: ``warc:<path>#<offset>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from corpus.io.bounded import ReadLimits
from corpus.sources.registry import Reader, register
from corpus.sources.rows import Item, Origin
from corpus.sources.xml import XML_TYPES, XmlPayload, parse_payload, root_tag
from corpus.stage import Rejection

#: Headings of the hierarchy above articles (編/章/節/款/目) and other one-line titles.
HEADINGS = {
    "PartTitle", "ChapterTitle", "SectionTitle", "SubsectionTitle", "DivisionTitle",
    "SupplProvisionAppdxTableTitle", "AppdxTableTitle", "AppdxNoteTitle", "AppdxStyleTitle",
    "AppdxFormatTitle", "AppdxFigTitle", "ArithFormulaNum", "EnactStatement", "Preamble",
}
#: Numbered provisions below a paragraph: 号 (Item) and its sub-levels イ, (1), (i)...
ITEM = re.compile(r"^(Item|Subitem\d+)$")
SKIP = {"TOC", "Rt", "LawNum", "LawTitle", "ArticleRange", "Fig", "Remarks"}
FILENAME = re.compile(r"^(?P<law>[0-9A-Z]{15})_(?P<rev>\d{8}_[0-9A-Z]{15})")


def inline_text(el: Any) -> str:
    """All text of an element without ruby readings, whitespace from indentation removed."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if node.tag == "Rt":
            if node.tail:
                parts.append(node.tail)
            return
        if node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
        if node is not el and node.tail:
            parts.append(node.tail)

    walk(el)
    return re.sub(r"\s*\n\s*", "", "".join(parts)).strip()


def _sentences(el: Any | None) -> str:
    """Text of a *Sentence container: sentences joined, table-like Columns separated by a space."""
    if el is None:
        return ""
    columns = el.findall("Column")
    if columns:
        return "　".join(_sentences(c) for c in columns)
    return "".join(inline_text(s) for s in el.iter("Sentence")) or inline_text(el)


class _Renderer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, *parts: str) -> None:
        text = "　".join(p for p in parts if p)
        if text:
            self.lines.append(text)

    def children(self, el: Any, skip: tuple[str, ...] = ()) -> None:
        for child in el:
            if isinstance(child.tag, str) and child.tag not in skip:
                self.render(child)

    def render(self, el: Any) -> None:
        tag = el.tag
        if not isinstance(tag, str) or tag in SKIP:
            return
        if tag in HEADINGS:
            self.line(inline_text(el))
        elif tag == "SupplProvision":
            label = el.findtext("SupplProvisionLabel") or "附則"
            amend = el.get("AmendLawNum")
            self.line(f"{label.strip()}（{amend}）" if amend else label.strip())
            self.children(el, ("SupplProvisionLabel",))
        elif tag == "Article":
            self.line(inline_text(el.find("ArticleCaption")) if el.find("ArticleCaption") is not None else "")
            title = inline_text(el.find("ArticleTitle")) if el.find("ArticleTitle") is not None else ""
            paragraphs = el.findall("Paragraph")
            if not paragraphs:
                self.line(title)
            for i, para in enumerate(paragraphs):
                self.paragraph(para, title if i == 0 else None)
            self.children(el, ("ArticleCaption", "ArticleTitle", "Paragraph"))
        elif tag == "Paragraph":
            self.paragraph(el, None)
        elif ITEM.match(tag):
            title = el.find(f"{tag}Title")
            self.line(inline_text(title) if title is not None else "", _sentences(el.find(f"{tag}Sentence")))
            self.children(el, (f"{tag}Title", f"{tag}Sentence"))
        elif tag == "TableRow":
            self.line(*(_sentences(c) for c in el.findall("TableColumn")))
        elif tag in ("Sentence", "ListSentence"):
            self.line(_sentences(el))
        else:
            self.children(el)

    def paragraph(self, para: Any, article_title: str | None) -> None:
        caption = para.find("ParagraphCaption")
        if caption is not None:
            self.line(inline_text(caption))
        num = inline_text(para.find("ParagraphNum")) if para.find("ParagraphNum") is not None else ""
        self.line(article_title if article_title is not None else num, _sentences(para.find("ParagraphSentence")))
        self.children(para, ("ParagraphCaption", "ParagraphNum", "ParagraphSentence"))


def render_law(law: Any) -> tuple[str, str, str]:
    """(title, law number, text) of a <Law> element; the text starts with the title and number."""
    title = inline_text(law.find("LawBody/LawTitle")) if law.find("LawBody/LawTitle") is not None else ""
    num = inline_text(law.find("LawNum")) if law.find("LawNum") is not None else ""
    r = _Renderer()
    r.line(title)
    r.line(num)
    body = law.find("LawBody")
    if body is not None:
        r.children(body, ("LawTitle",))
    return title, num, "\n".join(r.lines)


def _ids(root: Any, law: Any, name: str) -> tuple[str, str]:
    """(LawID, revision) from the XML, else from the e-Gov file name, else 'unknown'."""
    m = FILENAME.match(name)
    law_id = law.get("LawId") or root.findtext(".//law_info/law_id") or (m and m["law"]) or "unknown"
    rev_id = root.findtext(".//revision_info/law_revision_id")
    if rev_id and rev_id.startswith(f"{law_id}_"):
        return law_id, rev_id[len(law_id) + 1:]
    return law_id, (m["rev"] if m else None) or law.get("EnforcementDate", "").replace("/", "") or "unknown"


#: Root elements of a law: a bare <Law>, the v1 API's <DataRoot>, the v2 API's <law_data_response>.
LAW_ROOTS = ("Law", "DataRoot", "law_data_response")


@register
class LawXmlReader(Reader):
    kind = "law_xml"
    suffixes = (".xml",)
    locator_kind = "law"
    locator_fragment = r"[^#]+@[^#]+"
    content_types = XML_TYPES
    description = "e-Gov law XML (bare <Law> or a v1/v2 API envelope); locator law:<path>#<LawID>@<revision>"

    def sniff(self, head: bytes) -> bool:
        return root_tag(head) in LAW_ROOTS

    def documents(self, data: bytes, origin: Origin, limits: ReadLimits) -> Iterator[Item]:
        """One document per law XML payload (a bare <Law>, or a v1/v2 API envelope around one)."""
        parsed = parse_payload(data, origin)
        if not isinstance(parsed, XmlPayload):
            yield parsed
            return
        tree = parsed.root
        code = tree.findtext("Result/Code")
        if tree.tag == "DataRoot" and code is not None and code.strip() != "0":
            message = (tree.findtext("Result/Message") or "").strip()
            value = float(code) if code.strip().isdigit() else None
            yield parsed.reject(origin, Rejection("law_api_error", value=value, detail=f"e-Gov API error {code.strip()}: {message}"))
            return
        law = tree if tree.tag == "Law" else tree.find(".//Law")
        if law is None:
            yield parsed.reject(origin, Rejection("not_law_xml", detail=f"no <Law> element (root <{tree.tag}>)"))
            return
        name = (origin.fields.get("url") or "") if origin.nested else origin.file.path
        law_id, revision = _ids(tree, law, name.rstrip("/").rpartition("/")[2])
        title, num, text = render_law(law)
        yield parsed.row(origin, origin.locate(fragment=f"{law_id}@{revision}"), text, title=title or num)
