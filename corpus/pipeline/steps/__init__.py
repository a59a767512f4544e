"""A run is a sequence of steps; each is one module here with one entry point, ``run(state)``.

The document phase (per partition: read ... tokens), then the run-wide steps: exact dedup, near
dedup, mixing and sharding, the rejected and signature outputs, provenance. Each step returns a
``StepResult``: the stages it accounts for (name, counts, and the files holding its rejection
rows) and the manifest sections it contributes. The stage order and the manifest's stage list are
the order of the composition (``corpus/pipeline/runner.py``), not a hand-kept list.

Steps run their work as tasks on the run's worker pool (corpus/pipeline/pool.py): the driver
passes file locations and receives counts, never per-document data, so its memory does not grow
with the corpus.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from corpus.pipeline.context import RunSetup
from corpus.pipeline.plan import Partition, RunPlan
from corpus.stage import StageCounts

#: (phase label, done, total, documents so far) -> None: the CLI's live progress line.
Progress = Callable[[str, int, int, int], None]


@dataclass
class StageRecord:
    """One stage of the run: its counts and the work files holding its rejection rows."""

    name: str
    counts: StageCounts
    rejected_files: list[str] = field(default_factory=list)


@dataclass
class StepResult:
    stages: list[StageRecord] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    volatile: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunState:
    """What the steps of one run share on the driver (all small: locations, counts, settings)."""

    setup: RunSetup
    pool: Any  # corpus.pipeline.pool.WorkerPool
    plan: RunPlan
    ledger: Any = None  # corpus.pipeline.output.Ledger: files are added before they are written
    progress: Progress | None = None
    partitions: list[Partition] = field(default_factory=list)  # keyed for judging, after the document phase
    kept_files: list[str] = field(default_factory=list)  # per partition, documents that passed every per-document stage
    signature_files: list[str] = field(default_factory=list)
    dropped_files: list[str] = field(default_factory=list)  # rejection files of run-wide steps so far (doc_id column)
    cluster_sizes_file: str | None = None
    shards: list[dict[str, Any]] = field(default_factory=list)  # manifest entries of the written shards
    rejected_outputs: list[dict[str, Any]] = field(default_factory=list)  # manifest entries of rejected/*.parquet
    stages: list[StageRecord] = field(default_factory=list)  # every stage so far, in run order

    @property
    def spec(self):
        return self.setup.loaded.spec

    def work(self, *parts: str) -> str:
        from corpus.io import storage

        return storage.join(self.setup.work, *parts)

    def output(self, *parts: str) -> str:
        from corpus.io import storage

        return storage.join(self.setup.output, *parts)

    def source_rank(self) -> dict[str, int]:
        """Source priority: the order of the spec's inputs (earlier wins as a duplicate's representative)."""
        rank: dict[str, int] = {}
        for inp in self.spec.inputs:
            rank.setdefault(inp.source, len(rank))
        return rank

    def survivors(self) -> int:
        return self.stages[-1].counts.docs_out if self.stages else 0

    def report(self, label: str, done: int, total: int, docs: int = 0) -> None:
        if self.progress:
            self.progress(label, done, total, docs)

    def map_reported(self, label: str, fn: Callable[..., Any], arg_list: list[tuple], docs_of: Callable[[Any], int] | None = None) -> list[Any]:
        """``pool.map`` behind one live progress line: its clock starts now (not at the first
        finished task), each finished task advances it and adds ``docs_of(result)`` documents."""
        total = len(arg_list)
        done = docs = 0

        def progress(_i: int, result: Any) -> None:
            nonlocal done, docs
            done += 1
            docs += (docs_of(result) or 0) if docs_of else 0
            self.report(label, done, total, docs)

        self.report(label, 0, total, 0)
        return self.pool.map(fn, arg_list, progress)
