"""Run a pipeline: plan, then the composed steps on one pool of Ray workers, then the manifest.

The composition (``steps_for``) is the run: the document phase (prepare and judge every
partition), exact dedup, near dedup, mixing and shards, the rejected and signature outputs,
provenance. The stage list in the manifest is the order of these steps' stages. The driver holds
only the plan (input files and partitions), per-stage counts and small aggregates; every
document-sized piece of work runs as a task on the pool and lives in files (corpus/io).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

from corpus.filters.license import registry_record
from corpus.io import storage
from corpus.pipeline.build import (
    build_decontamination_index, license_stage, prepare_config_sha256, profile_record, quality_profile, run_tokenizer, stage_config_sha256,
)
from corpus.pipeline.context import RunSetup
from corpus.pipeline.output import WORK_DIR, check_against_inputs, prepare_output
from corpus.pipeline.plan import plan_run
from corpus.pipeline.pool import WorkerPool, init_ray
from corpus.pipeline.spec import LoadedSpec, input_name
from corpus.pipeline.steps import Progress, RunState
from corpus.pipeline.steps import documents, exact, near, outputs, provenance, shards
from corpus.provenance.finish import RUN_FILES, finish_run
from corpus.provenance.manifest import build_manifest
from corpus.provenance.summary import cleaning_totals
from corpus.tokens.tokenizer import tokenizer_record


@dataclass
class RunResult:
    output: Path | str  # a Path for a local output, the URI for an object-store one
    manifest: dict[str, Any]
    resumed_partitions: int = 0
    processed_partitions: int = 0
    notes: list[str] = field(default_factory=list)


def steps_for(loaded: LoadedSpec) -> list[ModuleType]:
    """The steps of a run with this spec, in order."""
    spec = loaded.spec
    return [documents, *([exact] if spec.dedup.exact.enabled else []), near, shards, outputs, provenance]


def pool_size(loaded: LoadedSpec) -> int:
    """Workers: ``[ray.documents] concurrency``, else as many as the cluster's CPUs allow."""
    import ray

    res = loaded.spec.ray.documents
    if res.concurrency:
        return res.concurrency
    return max(1, int(ray.cluster_resources().get("CPU", 1) // res.num_cpus))


def licence_block(loaded: LoadedSpec, summary: dict[str, Any], stages: list[dict[str, Any]]) -> dict[str, Any]:
    """The manifest's ``licenses``: the policy, the registries it was applied with, and what was kept."""
    stage = license_stage(loaded)
    rejected = next((s["rejected"] for s in stages if s["name"] == "license"), {})
    return {
        "policy": loaded.spec.license_policy.model_dump(mode="json"),
        "registry": registry_record(stage.licenses_path, stage.sources_path),
        **summary["licenses"],
        "rejected_by_reason": rejected,
    }


def decontamination_block(loaded: LoadedSpec, counts: dict[str, Any]) -> dict[str, Any]:
    """The manifest's ``decontamination``: the method, each evaluation set checked (files and
    sha256, items, items long enough to be found) and how many documents it removed or cut."""
    from corpus.filters.decontaminate import decontamination_record
    from corpus.pipeline.spec import evaluation_sets
    from corpus.provenance.manifest import recorded_location

    settings = loaded.spec.decontamination.model_dump(mode="json")
    return decontamination_record(settings, evaluation_sets(loaded), counts, recorded_location)


def run_pipeline(
    loaded: LoadedSpec,
    output: str,
    address: str | None = None,
    progress: Progress | None = None,
    keep_work: bool = True,
    overwrite: bool = False,
) -> RunResult:
    """Run the whole pipeline; safe to re-run after a crash (finished partitions are reused)."""
    started = datetime.now(timezone.utc)
    t0 = time.monotonic()
    spec = loaded.spec
    output = storage.normalize(str(output))
    check_against_inputs(output, {input_name(i): loaded.location(i.path) for i in spec.inputs})
    ledger = prepare_output(output, overwrite)
    work = storage.join(output, WORK_DIR)
    plan = plan_run(loaded, prepare_config_sha256(loaded))
    setup = RunSetup(loaded, work, output, build_decontamination_index(loaded, work))
    ray_address = init_ray(address, spec.ray.num_cpus)
    pool = WorkerPool(setup, pool_size(loaded), spec.ray.documents.num_cpus)
    try:
        state = RunState(setup, pool, plan, ledger, progress)
        storage.delete_dir(state.work("run"))
        sections: dict[str, Any] = {}
        volatile: dict[str, Any] = {}
        seconds: dict[str, float] = {}
        for step in steps_for(loaded):
            t_step = time.monotonic()
            result = step.run(state)
            seconds[step.__name__.rsplit(".", 1)[-1]] = round(time.monotonic() - t_step, 3)
            state.stages.extend(result.stages)
            sections.update(result.manifest)
            volatile.update(result.volatile)
        volatile["step_seconds"] = seconds
    finally:
        pool.shutdown()
    stages = [{"name": r.name, **r.counts.to_dict()} for r in state.stages]
    summary = sections.pop("summary")
    sections["cleaning"] = cleaning_totals(summary["cleaning"], spec.pii.types if spec.pii.enabled else None, spec.boilerplate.enabled)
    volatile.update(
        started_at=started.isoformat(timespec="seconds"),
        finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        duration_seconds=round(time.monotonic() - t0, 3),
        ray_address=ray_address,
        workers=pool.size,
    )
    manifest = build_manifest(
        loaded=loaded, config_sha256=stage_config_sha256(loaded), profile=profile_record(quality_profile(loaded)), plan=plan,
        stages=stages, sections=sections, licenses=licence_block(loaded, summary, stages), volatile=volatile,
        tokenizer=tokenizer_record(run_tokenizer(loaded), spec.tokenizer.model),
    )
    if spec.decontamination:
        manifest["decontamination"] = decontamination_block(loaded, summary["decontamination"])
    ledger.add(*RUN_FILES)
    finish_run(output, manifest, summary, sections["provenance_documents"])
    if not keep_work:
        storage.delete_dir(work)
    resumed = volatile.get("resumed_partitions", 0)
    where: Path | str = output if storage.is_uri(output) else Path(output)
    return RunResult(where, manifest, resumed, len(state.partitions) - resumed)
