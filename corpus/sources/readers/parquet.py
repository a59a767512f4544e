"""Parquet dumps: one document per row, text in a configurable column."""

from __future__ import annotations

from collections.abc import Iterator

from corpus.io import storage
from corpus.io.bounded import ReadLimits
from corpus.sources.inputs import InputRange
from corpus.sources.registry import Item, Located, Reader, register
from corpus.sources.tabular import read_parquet_file


@register
class ParquetReader(Reader):
    kind = "parquet"
    suffixes = (".parquet",)
    locator_kind = "parquet"
    locator_fragment = r"[0-9]+"
    description = "Parquet, text in the input's text_column; locator parquet:<path>#<row>"

    def read(self, rng: InputRange, limits: ReadLimits) -> Iterator[Item]:
        yield from read_parquet_file(rng.file)

    def reopen(self, location: str, fragment: str | None, text_column: str = "text") -> Located:
        pf = storage.parquet_file(location)
        row = int(fragment or 0)
        for rg in range(pf.num_row_groups):
            n = pf.metadata.row_group(rg).num_rows
            if row < n:
                text = pf.read_row_group(rg, columns=[text_column]).column(0)[row].as_py()
                return Located("parquet", location, (text or "").encode("utf-8"))
            row -= n
        raise LookupError(f"{location}: no row {fragment}")
