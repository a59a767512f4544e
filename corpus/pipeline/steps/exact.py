"""Run-wide exact dedup: the kept documents' text hashes, grouped in buckets of hash prefixes."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from corpus.dedup.exact import KEY_COLUMNS, STAGE, exact_duplicates
from corpus.io import storage
from corpus.pipeline.context import WorkerContext
from corpus.pipeline.steps import RunState, StageRecord, StepResult
from corpus.stage import StageCounts

#: Kept documents per bucket task: one bucket holds every row of the hashes it covers.
ROWS_PER_BUCKET = 4_000_000
HEX = "0123456789abcdef"


def exact_bucket_task(ctx: WorkerContext, files: list[str], prefixes: list[str], source_rank: dict[str, int], out: str) -> int:
    """Exact duplicates among the rows whose text hash starts with one of ``prefixes`` ([] = all)."""
    parts = []
    for f in files:
        t = storage.read_table(f, columns=KEY_COLUMNS)
        if prefixes:
            t = t.filter(pc.is_in(pc.utf8_slice_codeunits(t.column("text_sha256"), 0, len(prefixes[0])), value_set=pa.array(prefixes)))
        parts.append(t)
    rejected = exact_duplicates(pa.concat_tables(parts), source_rank) if parts else None
    n = rejected.num_rows if rejected is not None else 0
    if n:
        storage.write_table(rejected, out)
    return n


def run(state: RunState) -> StepResult:
    survivors = state.survivors()
    files = [f for f in state.kept_files if storage.parquet_rows(f)]
    buckets = [[]] if survivors <= ROWS_PER_BUCKET else [[h] for h in HEX]
    outs = [state.work("run", f"{STAGE}-{i:03d}.parquet") for i in range(len(buckets))]
    counts = state.pool.map(exact_bucket_task, [(files, b, state.source_rank(), o) for b, o in zip(buckets, outs)]) if files else []
    written = [o for o, n in zip(outs, counts) if n]
    removed = sum(counts)
    stage = StageCounts(survivors, survivors - removed)
    if removed:
        stage.rejected["exact_duplicate"] = removed
    state.dropped_files.extend(written)
    state.report("dedup_exact", 1, 1)
    return StepResult([StageRecord(STAGE, stage, written)])
