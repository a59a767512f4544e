"""The sections of an EDINET filing: inline-XBRL HTML (and the XBRL instance) -> narrative text and tables.

Why sections are XBRL TextBlocks: EDINET requires every part of a filing's body to be tagged with
a TextBlock concept (包括タグ): 事業等のリスク is ``jpcrp_cor:BusinessRisksTextBlock`` in every
filer's 有価証券報告書. Cutting a filing at its outermost TextBlocks therefore gives sections that
mean the same thing across filers and years, and a name for each that needs no heading parser.
A TextBlock nested in another (ガバナンス inside サステナビリティ) stays part of its parent.

Each section is rendered twice over: its narrative (paragraphs and headings, one per line) and
its tables, each table on its own, one row per line with cells joined by `` | ``. Tables are
kept apart because a 有価証券報告書 is half numbers: a pretraining corpus wants the prose and
usually not the balance sheet, and whether a table is worth keeping is a quality decision made
from its text (the ``numeric_cell_fraction`` signal, filters/quality/finance-filings.toml), not
here. A table with one column is a box around prose and is read as narrative.

Where the HTML is missing (filings before inline XBRL, or a package without the .htm files),
the same sections come from the TextBlock facts of the XBRL instance (their values are escaped
HTML). The instance lists nested TextBlocks flat, so a fact whose text lies inside a longer fact
is left out there, as the HTML's nesting would.

The bytes behind a section (its ``raw_sha256``) are the canonical XML (C14N) of its elements: of
the ``ix:nonNumeric`` (and its ``ix:continuation`` chain), of one ``<table>``, or of the instance
fact. The filer, document type and period come from the DEI (document and entity information)
and cover-page facts, which every EDINET filing carries.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import lxml.html
from lxml import etree

from corpus.text.tables import table_row

#: Elements whose content never reaches the text; and inline-XBRL elements likewise (ix:header holds
#: the hidden facts and contexts, ix:exclude marks content that is not part of a fact's value).
SKIP = {"script", "style", "head", "title"}
IX_SKIP = {"header", "exclude"}
#: Elements that end a line.
BLOCKS = {
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "tr", "caption", "dt", "dd", "blockquote",
    "section", "ul", "ol", "dl", "pre", "hr", "address", "article", "center", "table", "tbody", "thead", "tfoot",
}
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_WRAP = re.compile(r"\s*\n\s*")
_SPACE = re.compile(r"\s+")
#: The instance's file name stem: {府令}{様式}-{報告書}-{連番}_{EDINETコード}-{追番}_{期末日}_{回数}_{提出日}.
FILING_STEM = re.compile(r"(?P<stem>[a-z]{3,6}\d{6}-[a-z0-9]{3}-\d{3}_[A-Z]\d{5}-\d{3}_\d{4}-\d{2}-\d{2}_\d{2}_\d{4}-\d{2}-\d{2})")
#: DEI and cover-page facts the rows keep (local names; the prefix differs by ordinance).
FACTS = (
    "EDINETCodeDEI", "SecurityCodeDEI", "FilerNameInJapaneseDEI", "FilerNameInEnglishDEI", "DocumentTypeDEI",
    "CabinetOfficeOrdinanceDEI", "AccountingStandardsDEI", "CurrentFiscalYearStartDateDEI", "CurrentPeriodEndDateDEI",
    "TypeOfCurrentPeriodDEI", "AmendmentFlagDEI", "DocumentTitleCoverPage", "FilingDateCoverPage",
)


def local(tag: Any) -> str:
    """The local name of a tag: ``{ns}p`` and (HTML parser) ``ix:nonnumeric`` alike; '' for comments."""
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2] if tag.startswith("{") else tag.rpartition(":")[2]


def is_ix(el: Any, name: str) -> bool:
    tag = el.tag
    return isinstance(tag, str) and tag.startswith("{") and "inlineXBRL" in tag and local(tag) == name


def skipped(el: Any) -> bool:
    """True for an element whose content is not text: scripts, styles, ix:header, ix:exclude."""
    name = local(el.tag).lower()
    return name in SKIP or (name in IX_SKIP and is_ix(el, name))


def is_textblock(el: Any) -> bool:
    return is_ix(el, "nonNumeric") and (el.get("name") or "").endswith("TextBlock")


def _clean(text: str) -> str:
    """Source line wraps vanish (Japanese has no spaces between words), other runs become one space."""
    return _SPACE.sub(" ", _WRAP.sub("", text)).strip()


#: Stands for a <br> until a block's text is complete (a character no text contains).
BR = "\x00"
#: A piece of text ends a line before a <br> when it ends a sentence or a heading...
_ENDS_LINE = re.compile(r"[。．！？!?：:】」』）)]\s*$")
#: ...or the text after the <br> opens a new one: an indent (nbsp, 全角 space) or an enumerator.
_OPENS_LINE = re.compile(r"^(?:[\xa0\u3000]|\s*(?:[(（]?[0-9０-９]{1,3}[)）．.]|[(（][0-9０-９一二三四五六七八九十]{1,3}[)）]|[①-⑳]|（注）|\(注\)|※|[イロハニホヘト][．.]))")


def logical_lines(text: str) -> list[str]:
    """A block's text split at its <br>s where they end a line of meaning, joined where they only
    wrap it: EDINET's HTML wraps paragraphs with <br /> mid-word (及ぼす可<br />能性), and a break
    there must not cut a sentence in two."""
    lines: list[str] = []
    for piece in text.split(BR):
        if lines and not _ENDS_LINE.search(lines[-1]) and not _OPENS_LINE.match(piece):
            lines[-1] += piece
        else:
            lines.append(piece)
    return [c for line in lines if (c := _clean(line))]


@dataclass
class Table:
    rows: list[list[str]]
    element: Any

    def payload(self) -> bytes:
        return c14n([self.element])

    def text(self, caption: str = "") -> str:
        lines = [caption] if caption else []
        lines += [table_row(row) for row in self.rows if any(row)]
        return "\n".join(lines)


@dataclass
class Rendered:
    """A section's narrative lines, its tables, and its first heading."""

    lines: list[str] = field(default_factory=list)
    tables: list[tuple[str, Table]] = field(default_factory=list)  # (caption, table)
    heading: str = ""


def _rows(table: Any) -> list[Any]:
    """The table's own rows (not those of tables nested in its cells)."""
    out = []
    for el in table.iter():
        if local(el.tag).lower() == "tr" and _owner_table(el) is table:
            out.append(el)
    return out


def _owner_table(el: Any) -> Any:
    for anc in el.iterancestors():
        if local(anc.tag).lower() == "table":
            return anc
    return None


def _cells(tr: Any) -> list[Any]:
    return [c for c in tr if local(c.tag).lower() in ("td", "th")]


def cell_text(cell: Any) -> str:
    """A cell's text on one line: its blocks (and the lines its <br>s make) joined by a space."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        name = local(node.tag).lower()
        if skipped(node):
            return
        if name == "br":
            parts.append(BR)
        elif name in BLOCKS:
            parts.append(BR)
        if node.text and name:
            parts.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                parts.append(child.tail)
        if name in BLOCKS:
            parts.append(BR)

    walk(cell)
    return " ".join(logical_lines("".join(parts)))


class _Renderer:
    def __init__(self) -> None:
        self.out = Rendered()
        self.buf: list[str] = []

    def flush(self) -> None:
        self.out.lines += logical_lines("".join(self.buf))
        self.buf = []

    def render(self, el: Any) -> None:
        name = local(el.tag).lower()
        if skipped(el) or not name:
            return
        if name == "table":
            self.table(el)
            return
        if name == "br":
            self.buf.append(BR)
            return
        block = name in BLOCKS
        if block:
            self.flush()
        self.contents(el)
        if block:
            self.flush()
            if name in HEADINGS and not self.out.heading and self.out.lines:
                self.out.heading = self.out.lines[-1]

    def contents(self, el: Any) -> None:
        """An element's own text and its children, each followed by its tail."""
        if el.text:
            self.buf.append(el.text)
        for child in el:
            self.render(child)
            if child.tail:
                self.buf.append(child.tail)

    def table(self, el: Any) -> None:
        self.flush()
        rows = [[cell_text(c) for c in _cells(tr)] for tr in _rows(el)]
        caption = next((cell_text(c) for c in el if local(c.tag).lower() == "caption"), "")
        if max((sum(1 for c in row if c) for row in rows), default=0) < 2:
            # one column: a box around prose (or a date stamp), read as narrative
            for line in ([caption] if caption else []) + [" ".join(c for c in row if c) for row in rows]:
                if line:
                    self.out.lines.append(line)
            return
        self.out.tables.append((caption, Table(rows, el)))


def render(elements: Iterable[Any]) -> Rendered:
    r = _Renderer()
    for el in elements:
        r.contents(el)
        r.flush()
    out = r.out
    if not out.heading and out.lines:
        out.heading = out.lines[0]
    return out


def c14n(elements: Iterable[Any]) -> bytes:
    """The canonical XML of elements (what a section's locator reopens, hashed as raw_sha256)."""
    return b"".join(etree.tostring(e, method="c14n", with_tail=False) for e in elements)


@dataclass
class Section:
    """One outermost TextBlock of a filing."""

    concept: str  # e.g. jpcrp_cor:BusinessRisksTextBlock
    context: str
    elements: list[Any]  # the nonNumeric and its continuations, or the instance fact
    rendered: Rendered
    from_instance: bool
    key: str = ""  # unique within the filing: the concept's local name (@context when it repeats)

    @property
    def name(self) -> str:
        return self.concept.rpartition(":")[2]

    def payload(self) -> bytes:
        return c14n(self.elements)

    def narrative(self) -> str:
        return "\n".join(self.rendered.lines)

    def tables(self) -> list[tuple[str, Table]]:
        """(caption, table) of each table with two or more columns, in document order."""
        return self.rendered.tables


def continuations(roots: Iterable[Any]) -> dict[str, Any]:
    """Every ix:continuation of the filing by id (a TextBlock may continue in another file)."""
    found: dict[str, Any] = {}
    for root in roots:
        for el in root.iter():
            if is_ix(el, "continuation") and el.get("id"):
                found[el.get("id")] = el
    return found


def _chain(el: Any, conts: dict[str, Any]) -> list[Any]:
    chain, seen = [el], {id(el)}
    nxt = el.get("continuedAt")
    while nxt and nxt in conts and id(conts[nxt]) not in seen:
        chain.append(conts[nxt])
        seen.add(id(conts[nxt]))
        nxt = conts[nxt].get("continuedAt")
    return chain


def html_sections(roots: list[Any]) -> tuple[list[Section], set[tuple[str, str]]]:
    """The outermost TextBlocks of inline-XBRL documents (in the order given, then document order),
    and the (concept, context) of every TextBlock they hold, nested ones included."""
    conts = continuations(roots)
    sections: list[Section] = []
    covered: set[tuple[str, str]] = set()
    for root in roots:
        for el in root.iter():
            if not is_textblock(el):
                continue
            covered.add((el.get("name"), el.get("contextRef") or ""))
            if any(is_textblock(a) for a in el.iterancestors()):
                continue
            chain = _chain(el, conts)
            sections.append(Section(el.get("name"), el.get("contextRef") or "", chain, render(chain), False))
    return sections, covered


def _instance_html(fact: Any) -> Any:
    """The escaped HTML value of an instance TextBlock, parsed (HTML parser: no entities, no network)."""
    value = fact.text or ""
    if not value.strip():
        return lxml.html.fragment_fromstring("<div></div>")
    return lxml.html.fragment_fromstring(value, create_parent="div")


def _qname(el: Any) -> str:
    q = etree.QName(el)
    prefix = el.prefix or ""
    return f"{prefix}:{q.localname}" if prefix else q.localname


def instance_sections(instance: Any, covered: set[tuple[str, str]]) -> list[Section]:
    """TextBlock facts of an XBRL instance that the HTML did not give, outermost only."""
    found: list[Section] = []
    for fact in instance:
        if not isinstance(fact.tag, str) or not local(fact.tag).endswith("TextBlock"):
            continue
        concept, context = _qname(fact), fact.get("contextRef") or ""
        if (concept, context) in covered:
            continue
        found.append(Section(concept, context, [fact], render([_instance_html(fact)]), True))
    # The instance lists nested TextBlocks flat; a fact whose HTML lies inside a longer fact's HTML
    # is nested there (measured on the FSA sample: all 39 nested facts found, 2 image-only sections
    # with the same HTML as a longer one also dropped: they hold no text).
    flat = [re.sub(r"\s+", "", s.elements[0].text or "") for s in found]
    order = sorted(range(len(found)), key=lambda i: -len(flat[i]))
    keep = []
    for rank, i in enumerate(order):
        longer = (j for j in order[:rank] if len(flat[j]) > len(flat[i]))
        if not flat[i] or not any(flat[i] in flat[j] for j in longer):
            keep.append(i)
    return [found[i] for i in sorted(keep)]


def assign_keys(sections: list[Section]) -> None:
    """Section keys: the concept's local name, with ``@context`` for concepts that occur more than
    once, and ``~N`` should a concept repeat in one context too (a filing that breaks the rules
    must still give every section its own locator)."""
    counts: dict[str, int] = {}
    for s in sections:
        counts[s.name] = counts.get(s.name, 0) + 1
    seen: dict[str, int] = {}
    for s in sections:
        key = s.name if counts[s.name] == 1 else f"{s.name}@{s.context}"
        seen[key] = seen.get(key, 0) + 1
        s.key = key if seen[key] == 1 else f"{key}~{seen[key]}"


@dataclass
class FilingFacts:
    """What identifies a filing: from its DEI and cover-page facts and its file names."""

    facts: dict[str, str] = field(default_factory=dict)
    stem: str | None = None

    def get(self, name: str) -> str | None:
        value = self.facts.get(name)
        return value if value else None

    @property
    def period(self) -> str | None:
        start, end = self.get("CurrentFiscalYearStartDateDEI"), self.get("CurrentPeriodEndDateDEI")
        if end and start:
            return f"{start}/{end}"
        return end

    def source_fields(self) -> str:
        """DEI facts without a column of their own, as sorted JSON."""
        own = {"EDINETCodeDEI", "SecurityCodeDEI", "DocumentTitleCoverPage", "CurrentFiscalYearStartDateDEI", "CurrentPeriodEndDateDEI"}
        rest = {k: v for k, v in self.facts.items() if k not in own and v}
        if self.stem:
            rest["file_stem"] = self.stem
        return json.dumps(rest, ensure_ascii=False, sort_keys=True)


def _fact_text(el: Any) -> str:
    return _clean("".join(el.itertext()))


def instance_facts(instance: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for el in instance:
        name = local(el.tag)
        if name in FACTS and name not in out:
            out[name] = _fact_text(el)
    return out


def ixbrl_facts(roots: Iterable[Any]) -> dict[str, str]:
    """DEI and cover facts from inline XBRL (ix:nonNumeric / ix:nonFraction), for packages without an instance."""
    out: dict[str, str] = {}
    for root in roots:
        for el in root.iter():
            if (is_ix(el, "nonNumeric") or is_ix(el, "nonFraction")) and el.get("name"):
                name = el.get("name").rpartition(":")[2]
                if name in FACTS and name not in out:
                    out[name] = _fact_text(el)
    return out


def filing_stem(names: Iterable[str]) -> str | None:
    """The filing's file-name stem (ordinance, form, report, EDINET code, period end, submission date)."""
    for name in sorted(names):
        if m := FILING_STEM.search(name.rpartition("/")[2]):
            return m.group("stem")
    return None
