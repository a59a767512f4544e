"""Parquet dumps: one document per row, text in a configurable column.

Locators are ``parquet:<path>#<row>`` (0-based row index across row groups). A row without text
is a rejection; a file without the text column is one rejection for the whole file. A file splits
into ranges of whole row groups (from its footer), and a range reads only its row groups.

Bounded: a Parquet value cannot be read in part and a page is decoded whole, so before decoding a
row group whose text column is larger than ``ROW_GROUP_FACTOR`` x ``max_document_bytes`` the reader
walks its page headers (corpus.sources.parquet_pages). Rows on a page that decodes to more than
the limit are ``too_large``; rows after such a page in the same row group cannot be reached
without decoding it and are ``parquet_rows_unreachable``; a dictionary page over the limit makes
every row of its row group ``too_large``. Every decoded cell over the limit is ``too_large``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from corpus.document import sha256_hex
from corpus.io import storage
from corpus.io.bounded import ReadLimits
from corpus.sources.inputs import InputRange
from corpus.sources.parquet_pages import DICTIONARY_PAGE, PageHeaderError, column_pages
from corpus.sources.registry import Located, Plan, Reader, register
from corpus.sources.rows import Item, Origin, failure
from corpus.stage import Rejection

#: A row group whose text column decodes to at most this many times the document limit is
#: decoded without looking at its pages.
ROW_GROUP_FACTOR = 4
_BATCH_ROWS = 1024


def row_group_cuts(location: str, target_bytes: int) -> tuple[tuple[int, int | None, int], ...]:
    """Ranges of whole row groups of about ``target_bytes`` on disk: (first group, end group, first row)."""
    meta = storage.parquet_file(location).metadata
    ranges: list[tuple[int, int | None, int]] = []
    start, row, size, first_row = 0, 0, 0, 0
    for rg in range(meta.num_row_groups):
        group = meta.row_group(rg)
        if size >= target_bytes and rg > start:
            ranges.append((start, rg, first_row))
            start, size, first_row = rg, 0, row
        size += sum(group.column(c).total_compressed_size for c in range(group.num_columns))
        row += group.num_rows
    ranges.append((start, None, first_row))
    return tuple(ranges)


def _values(column: pa.Array) -> list:
    """The column's values; a string that is not valid UTF-8 becomes None (only that cell is lost)."""
    try:
        return column.to_pylist()
    except UnicodeDecodeError:
        out = []
        for value in column:
            try:
                out.append(value.as_py())
            except UnicodeDecodeError:
                out.append(None)
        return out


@register
class ParquetReader(Reader):
    kind = "parquet"
    suffixes = (".parquet",)
    locator_kind = "parquet"
    locator_fragment = r"[0-9]+"
    description = "Parquet, text in the input's text_column; locator parquet:<path>#<row>"

    def plan(self, location: str, size: int, target_bytes: int) -> Plan:
        digest = super().plan(location, size, target_bytes).sha256
        try:
            return Plan(digest, row_group_cuts(location, target_bytes))
        except Exception:  # not Parquet: read() says why, as one rejection
            return Plan(digest)

    def range_locator(self, rng: InputRange) -> str:
        return f"parquet:{rng.file.path}" + ("" if rng.whole else f"#{rng.first_line}")

    def read(self, rng: InputRange, limits: ReadLimits) -> Iterator[Item]:
        f = rng.file
        origin = Origin.of_file(f, self.locator_kind)
        try:
            pf = storage.parquet_file(f.location)
            meta = pf.metadata
        except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for non-Parquet bytes
            if rng.start == 0:
                yield origin.reject(failure("unreadable_file", exc))
            return
        names = pf.schema_arrow.names
        col = f.text_column
        if col not in names:
            if rng.start == 0:
                yield origin.reject(Rejection("missing_text_column", detail=f"no column {col!r} (columns: {names[:20]})"), tag="no-text-column")
            return
        extra = [c for c in ("url", "title") if c in names and c != col]
        first = sum(meta.row_group(rg).num_rows for rg in range(rng.start))
        end = meta.num_row_groups if rng.end is None else min(rng.end, meta.num_row_groups)
        with storage.open_read(f.location) as fh:
            for rg in range(rng.start, end):
                yield from self._row_group(pf, fh, rg, first, col, extra, origin, limits)
                first += meta.row_group(rg).num_rows

    def _row_group(self, pf: Any, fh: Any, rg: int, first: int, col: str, extra: list[str], origin: Origin, limits: ReadLimits) -> Iterator[Item]:
        group = pf.metadata.row_group(rg)
        n = group.num_rows
        index = {group.column(c).path_in_schema: c for c in range(group.num_columns)}
        guard = ROW_GROUP_FACTOR * limits.max_document_bytes
        extra = [c for c in extra if c in index and group.column(index[c]).total_uncompressed_size <= guard]
        try:
            readable, blocked = self._readable_rows(fh, group.column(index[col]), n, guard, limits.max_document_bytes)
        except (PageHeaderError, OSError) as exc:
            yield origin.reject(failure("reader_error", exc), locator=f"parquet:{origin.file.path}#{first}", tag=f"row-group-{rg}")
            return
        row = first
        try:
            if readable:
                # Batches never reach past the readable rows: pyarrow decodes whole batches.
                size = min(_BATCH_ROWS, readable) if blocked else _BATCH_ROWS
                for batch in pf.iter_batches(batch_size=size, row_groups=[rg], columns=[col, *extra]):
                    batch = batch.slice(0, min(batch.num_rows, first + readable - row))
                    yield from self._batch(batch, row, col, extra, origin, limits)
                    row += batch.num_rows
                    if row >= first + readable:
                        break
        except (pa.ArrowException, OSError) as exc:
            yield origin.reject(failure("reader_error", exc), locator=f"parquet:{origin.file.path}#{row}", tag=f"row-group-{rg}")
            return
        for i, (reason, value, detail) in enumerate(blocked):
            where = f"parquet:{origin.file.path}#{first + readable + i}"
            why = Rejection(reason, rule="max_document_bytes", value=value, threshold=float(limits.max_document_bytes), detail=detail)
            yield origin.reject(why, locator=where, tag=reason)

    @staticmethod
    def _readable_rows(fh: Any, chunk: Any, n: int, guard: int, limit: int) -> tuple[int, list[tuple[str, float | None, str]]]:
        """How many leading rows of a row group can be decoded within the limit, and the reason
        for each row after them."""
        if chunk.total_uncompressed_size <= guard:
            return n, []
        row = 0
        for page in column_pages(fh, chunk):
            if page.type == DICTIONARY_PAGE and page.uncompressed_size > limit:
                why = f"the row group's dictionary page decodes to {page.uncompressed_size} bytes, over [limits] max_document_bytes = {limit}"
                return 0, [("too_large", float(page.uncompressed_size), why)] * n
            if page.uncompressed_size > limit and page.rows:
                why = f"its page of {page.rows} row(s) decodes to {page.uncompressed_size} bytes, over [limits] max_document_bytes = {limit}"
                after = n - row - page.rows
                lost = f"after a page over [limits] max_document_bytes = {limit} in the same row group (Parquet cannot skip it)"
                return row, [("too_large", float(page.uncompressed_size), why)] * page.rows + [("parquet_rows_unreachable", None, lost)] * max(after, 0)
            row += page.rows
        return n, []

    @staticmethod
    def _batch(batch: pa.RecordBatch, first: int, col: str, extra: list[str], origin: Origin, limits: ReadLimits) -> Iterator[Item]:
        texts = batch.column(0)
        is_text = pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)
        sizes = pc.binary_length(texts).to_pylist() if is_text else [None] * batch.num_rows
        others = {c: _values(batch.column(i + 1)) for i, c in enumerate(extra)}
        for i, size in enumerate(sizes):
            locator = f"parquet:{origin.file.path}#{first + i}"
            if size is None:
                kind = str(texts.type) if is_text is False and texts[i].is_valid else "null"
                yield origin.reject(Rejection("missing_text_column", detail=f"row {first + i}: {col!r} is {kind}"), locator=locator, tag="missing-text")
            elif size > limits.max_document_bytes:
                why = Rejection("too_large", rule="max_document_bytes", value=float(size), threshold=float(limits.max_document_bytes),
                                detail=f"text cell larger than [limits] max_document_bytes = {limits.max_document_bytes} bytes")
                yield origin.reject(why, locator=locator, tag="too_large")
            else:
                try:
                    text = texts[i].as_py()
                except UnicodeDecodeError as exc:  # Arrow does not check that Parquet strings are UTF-8
                    yield origin.reject(failure("undecodable", exc), locator=locator, tag="undecodable")
                    continue
                fields = {c: v[i] if isinstance(v[i], str) else None for c, v in others.items()}
                yield origin.text_row(locator, text, sha256_hex(text.encode("utf-8")), "utf-8", "parquet:utf-8", input_offset=first + i, **fields)

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
