"""The document phase: every partition prepared and judged on the worker pool, checkpointed.

With boilerplate removal on, the phases are separated by a run-wide count of repeated lines (a
line is site chrome only if it is on ``min_docs`` distinct pages of its site across the whole
run); otherwise each worker prepares and judges a partition back to back. A partition whose
checkpoint exists is not run again: a killed run resumes where it stopped.
"""

from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.compute as pc

from corpus.filters.boilerplate import repeated_line_table, site_lines
from corpus.io import storage
from corpus.pipeline.build import judge_config_sha256, judge_stages, prepare_stages
from corpus.pipeline.checkpoints import CheckpointStore
from corpus.pipeline.context import WorkerContext
from corpus.pipeline.documents import judge_partition, prepare_partition
from corpus.pipeline.plan import Partition, keyed_for_judging
from corpus.pipeline.steps import RunState, StageRecord, StepResult
from corpus.sources.read import STAGE as READ_STAGE
from corpus.stage import StageCounts

#: (site, line, page) rows one boilerplate-count task handles at most.
LINE_ROWS_PER_TASK = 4_000_000


def prepare_task(ctx: WorkerContext, part: Partition) -> int:
    if not ctx.prepared.is_done(part.key):
        prepare_partition(ctx, part)
    return ctx.prepared.counts(part.key)[READ_STAGE].docs_in


def judge_task(ctx: WorkerContext, part: Partition) -> int:
    if not ctx.judged.is_done(part.judge_key):
        if not ctx.prepared.is_done(part.key):  # its prepare checkpoint was removed meanwhile
            prepare_partition(ctx, part)
        judge_partition(ctx, part)
    return ctx.judged.counts(part.judge_key)[READ_STAGE].docs_in


def repeated_lines_task(ctx: WorkerContext, files: list[str], bucket: int, buckets: int, min_docs: int) -> pa.Table:
    """(site, line) of the short lines on at least ``min_docs`` distinct pages, for lines whose hash
    falls in ``bucket``: exact, because all rows of one (site, line) are in one bucket."""
    parts = []
    for f in files:
        t = storage.read_table(f)
        if buckets > 1:
            t = t.filter(pc.equal(pc.bit_wise_and(t.column("line"), pa.scalar(buckets - 1, pa.uint64())), bucket))
        parts.append(t)
    table = pa.concat_tables(parts) if parts else None
    if table is None or not table.num_rows:
        return pa.table({"site": pa.array([], pa.string()), "line": pa.array([], pa.uint64())})
    return repeated_line_table(table, min_docs)


def _run_phase(state: RunState, label: str, fn, parts: list[Partition]) -> None:
    if parts:
        state.map_reported(label, fn, [(p,) for p in parts], docs_of=lambda docs_in: docs_in)


def count_boilerplate(state: RunState, partitions: list[Partition]) -> dict[str, tuple[int, ...]]:
    """Per site, the lines repeated across the run (only those reach the driver)."""
    b = state.spec.boilerplate
    store = CheckpointStore(state.setup.work, "prepare")
    files = [store.file(p.key, "lines.parquet") for p in partitions]
    rows = sum(storage.parquet_rows(f) for f in files)
    buckets = 1 << max(0, math.ceil(math.log2(max(1, rows / LINE_ROWS_PER_TASK))))
    files = [f for f in files if storage.parquet_rows(f)]
    tables = state.pool.map(repeated_lines_task, [(files, i, buckets, b.min_docs) for i in range(buckets)])
    found = [t for t in tables if t.num_rows]
    return site_lines(pa.concat_tables(found)) if found else {}


def run(state: RunState) -> StepResult:
    loaded = state.setup.loaded
    prepared = CheckpointStore(state.setup.work, "prepare")
    judged = CheckpointStore(state.setup.work, "judge")
    planned = state.plan.partitions
    judge_sha = judge_config_sha256(loaded)
    resumed_prepared = sum(prepared.is_done(p.key) for p in planned)
    if state.spec.boilerplate.enabled:
        _run_phase(state, "prepare", prepare_task, [p for p in planned if not prepared.is_done(p.key)])
        repeated = count_boilerplate(state, planned)
        parts = [keyed_for_judging(p, judge_sha, repeated, prepared.marker(p.key).get("sites", [])) for p in planned]
        pending = [p for p in parts if not judged.is_done(p.judge_key)]
        _run_phase(state, "judge", judge_task, pending)
    else:
        parts = [keyed_for_judging(p, judge_sha, None, []) for p in planned]
        pending = [p for p in parts if not judged.is_done(p.judge_key)]
        _run_phase(state, "documents", judge_task, pending)
    names = [READ_STAGE] + [s.name for s in prepare_stages(loaded)] + [s.name for s in judge_stages(loaded, state.setup.decontamination_index)]
    totals = {n: StageCounts() for n in names}
    for p in parts:
        for name, c in judged.counts(p.judge_key).items():
            totals.setdefault(name, StageCounts()).add(c)
    rejected = [judged.file(p.judge_key, "rejected.parquet") for p in parts]
    state.partitions = parts
    state.kept_files = [judged.file(p.judge_key, "kept.parquet") for p in parts]
    state.signature_files = [judged.file(p.judge_key, "signatures.parquet") for p in parts]
    records = [StageRecord(n, totals[n], rejected) for n in names]
    volatile = {"resumed_partitions": len(parts) - len(pending), "resumed_prepared_partitions": resumed_prepared}
    return StepResult(records, {"partitions": len(parts)}, volatile)
