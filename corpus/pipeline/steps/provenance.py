"""Provenance records and the run-wide figures, computed by tasks from the written outputs.

One task streams the shards and rejected files once for the licence summary, the attribution
groups, the cleaning totals and the report's figures (corpus/provenance/summary.py); one task per
provenance bucket writes ``provenance/documents-NNNNN.parquet``. The driver receives aggregates.
"""

from __future__ import annotations

from typing import Any

from corpus.pipeline.context import WorkerContext
from corpus.pipeline.steps import RunState, StepResult
from corpus.provenance.records import bucket_count, bucket_file, write_bucket
from corpus.provenance.summary import summarize


def summary_task(ctx: WorkerContext, shards: list[dict[str, Any]], rejected_files: list[dict[str, Any]]) -> dict[str, Any]:
    return summarize(ctx.setup.output, shards, rejected_files)


def records_task(ctx: WorkerContext, outputs: dict[str, Any], bucket: int, buckets: int) -> dict[str, Any]:
    return write_bucket(ctx.setup.output, outputs, bucket, buckets)


def run(state: RunState) -> StepResult:
    """Adds ``summary`` (aggregates for the manifest, ATTRIBUTION.md and report) and the provenance files."""
    documents = state.stages[0].counts.docs_in if state.stages else 0
    buckets = bucket_count(documents)
    state.ledger.add(*(bucket_file(b) for b in range(buckets)))
    outputs = {"stages": [{"name": r.name} for r in state.stages], "shards": state.shards, "rejected_files": state.rejected_outputs}
    summary = state.pool.run(summary_task, state.shards, state.rejected_outputs)
    entries = state.pool.map(records_task, [(outputs, b, buckets) for b in range(buckets)])
    state.report("provenance", 1, 1)
    return StepResult(manifest={"summary": summary, "provenance_documents": {"buckets": buckets, "files": entries}})
