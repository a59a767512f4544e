"""The run's rejection and signature outputs, laid out by stage and doc_id, not by partition.

``rejected/<stage>.parquet`` holds every rejection of one stage sorted by doc_id, and
``signatures/part-NNNNN.parquet`` the kept documents' MinHash signatures sorted by doc_id: the
files depend only on what was rejected and kept, so a run split into different partitions (or
run on another number of workers) writes the same bytes.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from corpus.dedup.minhash import SIGNATURE_SCHEMA
from corpus.dedup.reference import SIGNATURE_DIR
from corpus.document import REJECT_SCHEMA
from corpus.io import storage
from corpus.io.hashing import file_sha256
from corpus.pipeline.context import WorkerContext
from corpus.pipeline.steps import RunState, StepResult
from corpus.pipeline.steps.near import doc_ids_of

#: Signature rows per output file.
SIGNATURE_ROWS_PER_FILE = 1_000_000


def stage_rejections_task(ctx: WorkerContext, stage: str, files: list[str], path: str) -> dict[str, Any] | None:
    """Every rejection row of ``stage`` found in ``files``, sorted by doc_id, written to ``path``."""
    parts = []
    for f in files:
        t = storage.read_table(f)
        parts.append(t.filter(pc.equal(t.column("stage"), stage)))
    table = pa.concat_tables(parts).cast(REJECT_SCHEMA) if parts else REJECT_SCHEMA.empty_table()
    if not table.num_rows:
        return None
    location = storage.join(ctx.setup.output, path)
    storage.write_table(table.sort_by([("doc_id", "ascending")]), location)
    return {"path": path, "sha256": file_sha256(location), "rows": table.num_rows}


def signatures_task(ctx: WorkerContext, files: list[str], dropped_files: list[str]) -> list[dict[str, Any]]:
    """The kept documents' signatures (a later run's near-dedup reference), sorted by doc_id."""
    dropped = doc_ids_of(dropped_files)
    parts = []
    for f in files:
        t = storage.read_table(f)
        if len(dropped):
            t = t.filter(pc.invert(pc.is_in(t.column("doc_id"), value_set=dropped)))
        parts.append(t)
    table = pa.concat_tables(parts).cast(SIGNATURE_SCHEMA).sort_by("doc_id") if parts else SIGNATURE_SCHEMA.empty_table()
    entries = []
    for i, start in enumerate(range(0, table.num_rows, SIGNATURE_ROWS_PER_FILE)):
        path = f"{SIGNATURE_DIR}/part-{i:05d}.parquet"
        location = storage.join(ctx.setup.output, path)
        storage.write_table(table.slice(start, SIGNATURE_ROWS_PER_FILE), location)
        entries.append({"path": path, "sha256": file_sha256(location), "rows": min(SIGNATURE_ROWS_PER_FILE, table.num_rows - start)})
    return entries


def run(state: RunState) -> StepResult:
    jobs = [(r.name, r.rejected_files, f"rejected/{r.name}.parquet") for r in state.stages if sum(r.counts.rejected.values())]
    state.ledger.add(*(path for _, _, path in jobs))
    entries = [e for e in state.pool.map(stage_rejections_task, jobs) if e]
    state.rejected_outputs = sorted(entries, key=lambda e: e["path"])
    result = StepResult(manifest={"rejected_files": state.rejected_outputs})
    if state.spec.dedup.near.enabled:
        kept = next((r.counts.docs_out for r in state.stages if r.name == "dedup_near"), 0)
        state.ledger.add(*(f"{SIGNATURE_DIR}/part-{i:05d}.parquet" for i in range(max(1, -(-kept // SIGNATURE_ROWS_PER_FILE)))))
        files = [f for f in state.signature_files if storage.parquet_rows(f)]
        result.manifest["signatures"] = state.pool.run(signatures_task, files, list(state.dropped_files))
    return result
