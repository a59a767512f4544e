"""Boilerplate lines that survive extraction: site chrome repeated across a site's pages.

A line is boilerplate if it appears, whole, in at least ``min_docs`` documents of the same site
(URL host, or the input's source name for files without a URL), or if it is a known Japanese
chrome line (``filters/boilerplate/known_lines_ja.txt``: ページの先頭へ戻る, 印刷する, cookie
notices...). Such lines are removed and counted per document (``boilerplate_lines``).

Limitation: the repeat count is per partition (the unit a worker sees), not over the whole
crawl, so a site spread thinly over many partitions is cleaned only by the known-lines list, and
the same page may lose different lines in different partitions (two copies of a page can then
differ and escape exact dedup). Long lines are never treated as repeated chrome: a repeated
long line is content (a statute's standard clause), left to the duplicate-line quality rules.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from functools import lru_cache
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pyarrow as pa

from corpus.document import rejects_from_rows, sha256_hex
from corpus.filters.rules import filters_dir
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


class BoilerplateStage(Stage):
    """Remove repeated and known chrome lines; reject a document left empty."""

    name: ClassVar[str] = "boilerplate"
    column = pa.field("boilerplate_lines", pa.int64())

    def __init__(self, min_docs: int = 3, max_line_chars: int = 100, known: bool = True):
        self.min_docs = min_docs
        self.max_line_chars = max_line_chars
        self.known = known

    def repeated_lines(self, rows: list[dict[str, Any]]) -> dict[str, set[str]]:
        """Per site, the short lines found in at least ``min_docs`` of its documents."""
        df: dict[str, Counter] = defaultdict(Counter)
        for row in rows:
            lines = {s for line in (row["text"] or "").split("\n") if 0 < len(s := line.strip()) <= self.max_line_chars}
            df[site_key(row)].update(lines)
        return {site: {line for line, n in c.items() if n >= self.min_docs} for site, c in df.items()}

    def process(self, table: pa.Table) -> StageOutput:
        rows = table.to_pylist()
        repeated = self.repeated_lines(rows)
        kept, rejected = [], []
        for row in rows:
            site_lines = repeated.get(site_key(row), set())
            out_lines, removed = [], 0
            for line in (row["text"] or "").split("\n"):
                s = line.strip()
                if s and (s in site_lines or (self.known and is_known_boilerplate(s))):
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
