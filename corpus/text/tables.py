"""Tables as text: how a reader writes a table row, and what counts as a number in one.

Readers that know a table's structure (EDINET filings, corpus.sources.xbrl) write one row per line
with its cells joined by ``CELL_SEPARATOR``; the quality signals (``numeric_cell_fraction``) read
the rows back. Both sides use this module, so the convention cannot drift apart. " | " survives
NFKC and whitespace folding, and reads as a table to a person (and to a model) too.
"""

from __future__ import annotations

CELL_SEPARATOR = " | "
_NIL = set("-－―‐−ー—")


def table_row(cells: list[str]) -> str:
    """A row as one line: its non-empty cells joined by the separator."""
    return CELL_SEPARATOR.join(c for c in cells if c)


def table_cells(line: str) -> list[str] | None:
    """The cells of a table row line (None for a line that is not one: fewer than two cells)."""
    if CELL_SEPARATOR not in line:
        return None
    return line.split(CELL_SEPARATOR)


def numeric_cell(cell: str) -> bool:
    """A cell that states a number: a digit or a nil dash, and letters (kanji, kana, Latin) under
    half its characters. 1,234 / (252) / △5.2% / 第104期 / 令和6.88 / － are numbers; 売上高, (百万円),
    東京都に設立 are not."""
    chars = "".join(cell.split())
    if not chars:
        return False
    letters = sum(1 for c in chars if c.isalpha())
    return letters * 2 < len(chars) and any(c.isdigit() or c in _NIL for c in chars)
