"""Boilerplate lines that survive extraction: site chrome repeated across a site's pages.

A line is boilerplate if it appears, whole, on at least ``min_docs`` different pages of the same
site (URL host, or the input's source name for files without a URL), or if it is a known Japanese
chrome line (``filters/boilerplate/known_lines_ja.txt``: ページの先頭へ戻る, 印刷する, cookie
notices...). Such lines are removed and counted per document (``boilerplate_lines``).

"Different pages", not documents: a page captured five times (crawl snapshots, a mirror) would
otherwise make every short line of its own article look like site chrome, and the article would
lose its text in every copy. A page is its URL, else its title, else its locator; captures of one
page share it and count once. Where distinct pages share one title, their chrome counts once too:
the stage then removes less, never content.

Repeats are counted over the whole run, not per partition: each partition lists, per site, the
pages holding each short line (``line_pages``: 64-bit hashes of line and page), the runner counts
distinct pages across all partitions, and every partition's stage is then given its sites'
repeated lines (``with_repeated``). A stage used on its own (no ``repeated`` given) counts within
the table it is handed. Long lines are never treated as repeated chrome: a repeated long line is
content (a statute's standard clause), left to the duplicate-line quality rules.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from functools import lru_cache
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc

from corpus.document import rejects_from_rows, sha256_hex
from corpus.resources import filters_dir
from corpus.stage import Rejection, Stage, StageOutput, reject_row


def _fold(line: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", line).split())


@lru_cache(maxsize=1)
def known_lines() -> tuple[frozenset[str], tuple[re.Pattern[str], ...]]:
    """Exact lines and whole-line patterns from filters/boilerplate/*.txt."""
    exact: set[str] = set()
    patterns: list[re.Pattern[str]] = []
    for path in sorted((filters_dir() / "boilerplate").glob("*.txt")):
        for raw in path.read_text(encoding="utf-8").splitlines():
            if not raw.strip() or raw.startswith("#"):
                continue
            if raw.startswith("re:"):
                patterns.append(re.compile(raw[3:]))
            else:
                exact.add(_fold(raw))
    return frozenset(exact), tuple(patterns)


def is_known_boilerplate(line: str) -> bool:
    exact, patterns = known_lines()
    folded = _fold(line)
    return folded in exact or any(p.fullmatch(folded) for p in patterns)


def site_key(row: dict[str, Any]) -> str:
    """The 'site' a page belongs to: its URL host, else its source name."""
    host = urlsplit(row.get("url") or "").hostname
    return f"host:{host}" if host else f"source:{row.get('source')}"


#: One row per (site, short line, page holding it), line and page as 64-bit hashes.
LINE_PAGE_SCHEMA = pa.schema([pa.field("site", pa.string()), pa.field("line", pa.uint64()), pa.field("page", pa.uint64())])


def stable_hash(text: str) -> int:
    """64-bit hash that is the same in every process (Python's ``hash`` of a str is not)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def page_key(row: dict[str, Any]) -> str:
    """What makes two documents the same page: the URL, else the title, else the locator."""
    return row.get("url") or row.get("title") or row.get("locator") or ""


def short_lines(text: str | None, max_line_chars: int) -> set[str]:
    """The distinct stripped lines of at most ``max_line_chars`` characters."""
    return {s for line in (text or "").split("\n") if 0 < len(s := line.strip()) <= max_line_chars}


def line_pages(table: pa.Table, max_line_chars: int) -> pa.Table:
    """Every (site, short line, page) of ``table``, each once, sorted."""
    cols = [c for c in ("text", "url", "source", "title", "locator") if c in table.column_names]
    rows = set()
    for row in table.select(cols).to_pylist():
        site, page = site_key(row), stable_hash(page_key(row))
        rows.update((site, stable_hash(line), page) for line in short_lines(row["text"], max_line_chars))
    ordered = sorted(rows)
    return pa.table([list(col) for col in zip(*ordered)] if ordered else [[], [], []], schema=LINE_PAGE_SCHEMA)


def repeated_line_table(pages: pa.Table, min_docs: int) -> pa.Table:
    """(site, line) of the lines found on at least ``min_docs`` distinct pages of their site.

    Exact for any table holding all rows of each (site, line) it has: one partition's own table, or
    one line-hash bucket of the run-wide step (``repeated_lines_task``).
    """
    counted = pages.group_by(["site", "line"], use_threads=False).aggregate([("page", "count_distinct")])
    return counted.filter(pc.greater_equal(counted.column("page_count_distinct"), min_docs)).select(["site", "line"])


def site_lines(repeated: pa.Table) -> dict[str, tuple[int, ...]]:
    """``repeated_line_table`` rows as site -> sorted line hashes."""
    out: dict[str, list[int]] = defaultdict(list)
    for site, line in zip(repeated.column("site").to_pylist(), repeated.column("line").to_pylist()):
        out[site].append(line)
    return {site: tuple(sorted(lines)) for site, lines in sorted(out.items())}


class BoilerplateStage(Stage):
    """Remove repeated and known chrome lines; reject a document left empty."""

    name: ClassVar[str] = "boilerplate"
    column = pa.field("boilerplate_lines", pa.int64())

    def __init__(
        self, min_docs: int = 3, max_line_chars: int = 100, known: bool = True, repeated: dict[str, tuple[int, ...]] | None = None
    ):
        self.min_docs = min_docs
        self.max_line_chars = max_line_chars
        self.known = known
        self.repeated = repeated

    def with_repeated(self, repeated: dict[str, tuple[int, ...]]) -> "BoilerplateStage":
        """The same stage judging by run-wide repeated lines instead of counting its own table."""
        return BoilerplateStage(self.min_docs, self.max_line_chars, self.known, repeated)

    def process(self, table: pa.Table) -> StageOutput:
        rows = table.to_pylist()
        found = self.repeated
        if found is None:
            found = site_lines(repeated_line_table(line_pages(table, self.max_line_chars), self.min_docs))
        repeated = {site: set(lines) for site, lines in found.items()}
        kept, rejected = [], []
        for row in rows:
            chrome = repeated.get(site_key(row), set())
            out_lines, removed = [], 0
            for line in (row["text"] or "").split("\n"):
                s = line.strip()
                if s and ((len(s) <= self.max_line_chars and stable_hash(s) in chrome) or (self.known and is_known_boilerplate(s))):
                    removed += 1
                else:
                    out_lines.append(line)
            text = "\n".join(out_lines).strip()
            if not text:
                rejected.append(reject_row(row, self.name, Rejection("empty_after_boilerplate", value=float(removed))))
                continue
            row = {**row, "boilerplate_lines": removed}
            if removed:
                row.update(text=text, text_sha256=sha256_hex(text.encode("utf-8")), n_chars=len(text))
            kept.append(row)
        schema = table.schema
        if schema.get_field_index(self.column.name) < 0:
            schema = schema.append(self.column)
        kept_table = pa.Table.from_pylist([{f.name: r.get(f.name) for f in schema} for r in kept], schema=schema)
        return StageOutput(kept_table, rejects_from_rows(rejected))
