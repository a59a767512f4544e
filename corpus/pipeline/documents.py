"""The document phase of one partition: read and prepare it, or judge it, streaming in batches.

No Ray here: a worker (or a test) calls ``prepare_partition`` / ``judge_partition`` with its
``WorkerContext``. Documents flow in batches of at most ``BATCH_ROWS`` rows or ``BATCH_BYTES`` of
text, each batch through every stage and appended to the checkpoint's Parquet files, so a worker
holds one batch (plus one document up to ``[limits] max_document_bytes``), never a partition.
Every document that enters leaves as a kept row or a rejection row; the per-stage counts prove it
(``count_output`` raises if a stage lost one).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pyarrow as pa

from corpus.document import DOC_SCHEMA, REJECT_SCHEMA, docs_from_rows, rejects_from_rows
from corpus.dedup.minhash import SIGNATURE_SCHEMA
from corpus.filters.boilerplate import LINE_PAGE_SCHEMA, BoilerplateStage, line_pages, site_key
from corpus.io import storage
from corpus.io.storage import ParquetSink
from corpus.pipeline.context import WorkerContext
from corpus.pipeline.plan import Partition
from corpus.sources.read import STAGE as READ_STAGE, read_range
from corpus.sources.registry import Item
from corpus.sources.rows import failure
from corpus.stage import RowStage, Stage, StageCounts, count_output, reject_row, run_row_stages, run_stage

BATCH_ROWS = 256
BATCH_BYTES = 32 * 1024 * 1024


def _item_bytes(row: dict) -> int:
    return len(row.get("raw") or b"") + 3 * len(row.get("text") or "")


def batched_items(items: Iterable[Item]) -> Iterator[tuple[list[dict], list[dict]]]:
    """(document rows, read rejections) in batches bounded by rows and bytes."""
    rows: list[dict] = []
    rejected: list[dict] = []
    size = 0
    for item in items:
        if isinstance(item, tuple):
            rejected.append(reject_row(item[0], READ_STAGE, item[1]))
        else:
            rows.append(item)
            size += _item_bytes(item)
        if len(rows) + len(rejected) >= BATCH_ROWS or size >= BATCH_BYTES:
            yield rows, rejected
            rows, rejected, size = [], [], 0
    if rows or rejected:
        yield rows, rejected


def doc_table(rows: list[dict], rejected: list[dict]) -> pa.Table:
    """``rows`` as a DOC_SCHEMA table. A row Arrow cannot hold (a reader let through a string with
    a lone surrogate, e.g. from a JSON ``\\ud800`` escape) moves to ``rejected`` as a ``reader_error``
    instead of failing the batch; the common case converts the batch at once."""
    try:
        return docs_from_rows(rows, DOC_SCHEMA)
    except (UnicodeError, pa.ArrowException):
        pass
    good = []
    for row in rows:
        try:
            docs_from_rows([row], DOC_SCHEMA)
        except (UnicodeError, pa.ArrowException) as exc:
            rejected.append({**reject_row(row, READ_STAGE, failure("reader_error", exc)), "url": None})  # the url may be the culprit
            continue
        good.append(row)
    return docs_from_rows(good, DOC_SCHEMA)


def run_stages(table: pa.Table, stages: list[Stage], counts: dict[str, StageCounts], rejected: ParquetSink) -> pa.Table:
    """``table`` through ``stages`` in order; rejections appended to ``rejected``, counts added.

    Runs of consecutive row stages go through ``run_row_stages`` (one conversion for the run)."""
    i = 0
    while i < len(stages):
        j = i
        while j < len(stages) and isinstance(stages[j], RowStage):
            j += 1
        if j > i:
            out = run_row_stages(table, stages[i:j], counts)
            i = j
        else:
            out = run_stage(stages[i], table)
            counts.setdefault(stages[i].name, StageCounts()).add(count_output(table, out))
            i += 1
        if out.rejected.num_rows:
            rejected.write(out.rejected)
        table = out.kept
    return table


def prepare_partition(ctx: WorkerContext, part: Partition) -> dict[str, StageCounts]:
    """Read the partition's ranges and run the prepare stages; checkpoint kept, rejected and (with
    boilerplate on) the (site, line, page) hashes and the partition's sites."""
    store = ctx.prepared
    store.begin(part.key)
    counts: dict[str, StageCounts] = {READ_STAGE: StageCounts()}
    sites: set[str] = set()
    items = (item for rng in part.ranges for item in read_range(rng, ctx.limits))
    with (
        ParquetSink(store.file(part.key, "kept.parquet")) as kept,
        ParquetSink(store.file(part.key, "rejected.parquet"), REJECT_SCHEMA) as rejected,
        ParquetSink(store.file(part.key, "lines.parquet"), LINE_PAGE_SCHEMA) as lines,
    ):
        for rows, read_rejects in batched_items(items):
            table = doc_table(rows, read_rejects)
            counts[READ_STAGE].add(StageCounts(table.num_rows + len(read_rejects), table.num_rows))
            counts[READ_STAGE].rejected.update(r["reason"] for r in read_rejects)
            if read_rejects:
                rejected.write(rejects_from_rows(read_rejects))
            table = run_stages(table, ctx.prepare_stages, counts, rejected)
            kept.write(table)
            if ctx.line_chars is not None and table.num_rows:
                lines.write(line_pages(table, ctx.line_chars))
                sites.update(site_key(r) for r in table.select([c for c in ("url", "source") if c in table.column_names]).to_pylist())
        if kept.schema is None:  # nothing was read at all: an empty kept file of the right shape
            kept.write(run_stages(DOC_SCHEMA.empty_table(), ctx.prepare_stages, {}, rejected))
    for stage in ctx.prepare_stages:
        counts.setdefault(stage.name, StageCounts())
    store.commit(part.key, counts, {"sites": sorted(sites)})
    return counts


def _tables(location: str, batch_rows: int = BATCH_ROWS) -> Iterator[pa.Table]:
    pf = storage.parquet_file(location)
    for batch in pf.iter_batches(batch_size=batch_rows):
        yield pa.Table.from_batches([batch])


def judge_partition(ctx: WorkerContext, part: Partition) -> dict[str, StageCounts]:
    """Run the judge stages over the prepared partition; the checkpoint's counts and rejections
    include the prepare phase's, and with near dedup on it holds the kept documents' signatures."""
    prepared, store = ctx.prepared, ctx.judged
    key = part.judge_key
    store.begin(key)
    counts = prepared.counts(part.key)
    stages = [s.with_repeated(part.boilerplate) if isinstance(s, BoilerplateStage) else s for s in ctx.judge_stages]
    hasher = ctx.hasher
    with (
        ParquetSink(store.file(key, "kept.parquet")) as kept,
        ParquetSink(store.file(key, "rejected.parquet"), REJECT_SCHEMA) as rejected,
        ParquetSink(store.file(key, "signatures.parquet"), SIGNATURE_SCHEMA) as signatures,
    ):
        for table in _tables(prepared.file(part.key, "rejected.parquet")):
            rejected.write(table)
        for table in _tables(prepared.file(part.key, "kept.parquet")):
            table = run_stages(table, stages, counts, rejected)
            kept.write(table)
            if hasher is not None:
                signatures.write(hasher.signature_table(table))
        if kept.schema is None:
            empty = storage.read_schema(prepared.file(part.key, "kept.parquet")).empty_table()
            kept.write(run_stages(empty, stages, counts, rejected))
    for stage in stages:
        counts.setdefault(stage.name, StageCounts())
    store.commit(key, counts)
    return counts
