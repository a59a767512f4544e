"""What a worker process needs to do any piece of a run, built once per process and reused.

``RunSetup`` is small and picklable: the validated spec and where the run writes. A
``WorkerContext`` builds the heavy objects from it on first use (licence registries, the
extraction sandbox, MeCab, the tokenizer, MinHash permutations) and keeps them for every task the
worker runs, so nothing is loaded once per partition.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from corpus.io.bounded import ReadLimits
from corpus.pipeline.build import boilerplate_line_chars, judge_stages, near_hasher, prepare_stages
from corpus.pipeline.checkpoints import CheckpointStore
from corpus.pipeline.spec import LoadedSpec


@dataclass(frozen=True)
class RunSetup:
    loaded: LoadedSpec
    work: str  # the run's work directory (checkpoints, run-wide intermediates)
    output: str  # the run's output directory
    decontamination_index: str | None = None  # where the driver put the evaluation-set index


class WorkerContext:
    def __init__(self, setup: RunSetup):
        self.setup = setup
        self.loaded = setup.loaded
        self.spec = setup.loaded.spec

    @cached_property
    def prepared(self) -> CheckpointStore:
        return CheckpointStore(self.setup.work, "prepare")

    @cached_property
    def judged(self) -> CheckpointStore:
        return CheckpointStore(self.setup.work, "judge")

    @cached_property
    def limits(self) -> ReadLimits:
        lim = self.spec.limits
        return ReadLimits(lim.max_document_bytes, lim.max_line_bytes)

    @cached_property
    def prepare_stages(self) -> list:
        return prepare_stages(self.loaded)

    @cached_property
    def judge_stages(self) -> list:
        return judge_stages(self.loaded, self.setup.decontamination_index)

    @cached_property
    def hasher(self):
        return near_hasher(self.loaded)

    @cached_property
    def line_chars(self) -> int | None:
        return boilerplate_line_chars(self.loaded)
