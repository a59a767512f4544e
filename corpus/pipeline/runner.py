"""Run a pipeline on Ray: partitions prepared, then judged, then dedup, then shards and manifest.

The only module that imports Ray. Every step it runs is a plain function from the stage packages;
Ray Data supplies the parallelism (``map_batches`` over partitions, ``groupby`` for boilerplate
lines, dedup and sharding), and finished partitions are checkpointed after each phase so a killed
run resumes where it stopped (corpus/pipeline/partitions.py).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpus.dedup.exact import KEY_COLUMNS, STAGE as DEDUP_STAGE, exact_duplicates
from corpus.document import REJECT_SCHEMA
from corpus.filters.totals import cleaning_totals
from corpus.filters.boilerplate import repeated_line_table, site_lines
from corpus.pipeline.build import (
    STAGE_ORDER, boilerplate_line_chars, judge_config_sha256, judge_stages, near_hasher, prepare_config_sha256, prepare_stages,
    profile_record, quality_profile, run_tokenizer, stage_config_sha256,
)
from corpus.pipeline.near_step import cluster_sizes, dataset_tables, find_near_duplicates, near_manifest, nonempty_files, write_signatures
from corpus.pipeline.partitions import CheckpointStore, Partition, judge_partition, judge_plan, plan_partitions, prepare_partition
from corpus.pipeline.spec import LoadedSpec
from corpus.provenance.hashing import file_sha256, object_sha256
from corpus.provenance.records import finish_run
from corpus.provenance.manifest import code_record, library_versions, manifest_version, totals, write_manifest
from corpus.stage import StageCounts
from corpus.provenance.report import write_report
from corpus.sources.inputs import recorded_path
from corpus.tokens.tokenizer import model_sha256, tokenizer_record
from corpus.tokens.mixing import STAGE as MIX_STAGE, apply_mixing
from corpus.tokens.shards import ShardPlan, plan_shards, shard_layout, shard_summary, split_totals, write_shard

WORK_DIR = "_work"
Progress = Callable[[str, int, int], None]


@dataclass
class RunResult:
    output: Path
    manifest: dict[str, Any]
    resumed_partitions: int = 0
    processed_partitions: int = 0
    notes: list[str] = field(default_factory=list)


class PartitionWorker:
    """A Ray Data actor: prepares and/or judges whole partitions, checkpointing each phase.

    An actor (not a task) so each worker builds its stages once: loading the sentencepiece model
    and trafilatura's parsers per partition would dominate small partitions. Given both stage
    lists it runs both phases back to back (no run-wide step between them: boilerplate is off).
    """

    def __init__(self, prepare: list | None, judge: list | None, work_dir: str, hasher=None, line_chars: int | None = None):
        self.prepare = prepare
        self.judge = judge
        self.hasher = hasher
        self.line_chars = line_chars
        self.prepared = CheckpointStore(Path(work_dir), "prepare")
        self.store = CheckpointStore(Path(work_dir), "judge")

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        keys = []
        for text in batch["partition"]:
            part = Partition.from_json(str(text))
            prepared_key = part.prepared_key or part.key  # a prepare-only plan keys partitions by their prepare key
            if self.prepare is not None and not self.prepared.is_done(prepared_key):
                self.prepared.save(prepared_key, prepare_partition(part, self.prepare, self.line_chars))
            if self.judge is not None and not self.store.is_done(part.key):
                self.store.save(part.key, judge_partition(part, self.prepared.load(prepared_key), self.judge, self.hasher))
            keys.append(part.key)
        return {"key": keys}


def init_ray(address: str | None, num_cpus: int | None, shuffle: str = "hash") -> str:
    """Connect to ``address`` (or RAY_ADDRESS), else start an embedded local Ray; configure Ray Data."""
    import ray
    from ray.data.context import ShuffleStrategy

    target = address or os.environ.get("RAY_ADDRESS")
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "logging_level": logging.ERROR,
            "log_to_driver": False,
            "configure_logging": True,
        }
        if target:
            ray.init(address=target, **kwargs)
        else:
            ray.init(num_cpus=num_cpus, **kwargs)
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    # Ray Data warns when a small run gives an operator fewer blocks than its concurrency: expected
    # on small inputs, and noise on the user's terminal.
    warnings.filterwarnings("ignore", message="The maximum number of concurrent tasks", category=UserWarning)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    ctx.shuffle_strategy = ShuffleStrategy.HASH_SHUFFLE if shuffle == "hash" else ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
    return target or "local"


def _concurrency(requested: int | None) -> int:
    import ray

    return requested or max(1, int(ray.available_resources().get("CPU", 1)))


def _shuffle_partitions(n: int) -> int:
    """Hash-shuffle width: enough for the work, not Ray's default 200 (costly on small runs)."""
    return max(1, min(n, 64))


def run_partitions(
    pending: list[Partition], loaded: LoadedSpec, work_dir: Path, progress: Progress | None, prepare: bool, judge: bool
) -> None:
    """The prepare and/or judge phase over ``pending`` partitions (each skips what is checkpointed)."""
    import ray

    if not pending:
        return
    res = loaded.spec.ray.documents
    args = (
        prepare_stages(loaded) if prepare else None,
        judge_stages(loaded, work_dir) if judge else None,
        str(work_dir),
        near_hasher(loaded) if judge else None,
        boilerplate_line_chars(loaded),
    )
    label = {(True, True): "documents", (True, False): "prepare (read, licence, extract, normalise)", (False, True): "judge (boilerplate, quality, PII, tokens)"}[(prepare, judge)]
    ds = ray.data.from_items([{"partition": p.to_json()} for p in pending], override_num_blocks=len(pending))
    ds = ds.map_batches(
        PartitionWorker,
        fn_constructor_args=args,
        batch_size=1,
        concurrency=min(len(pending), _concurrency(res.concurrency)),
        num_cpus=res.num_cpus,
    )
    done = 0
    for _batch in ds.iter_batches(batch_size=1):
        done += 1
        if progress:
            progress(label, done, len(pending))


def find_site_boilerplate(line_files: list[str], min_docs: int, num_partitions: int) -> dict[str, tuple[int, ...]]:
    """Per site, the short lines found on at least ``min_docs`` distinct pages across the whole run:
    the partitions' (site, line, page) rows grouped by (site, line) with a Ray Data groupby; only
    the repeated lines reach the driver."""
    import ray

    files = nonempty_files(line_files)
    if not files:
        return {}
    grouped = ray.data.read_parquet(files).groupby(["site", "line"], num_partitions=num_partitions)
    tables = dataset_tables(grouped.map_groups(lambda t: repeated_line_table(t, min_docs), batch_format="pyarrow"))
    return site_lines(pa.concat_tables(tables)) if tables else {}


def find_exact_duplicates(kept_files: list[str], source_rank: dict[str, int]) -> pa.Table:
    """Exact-duplicate rejections, grouping by text hash with a Ray Data shuffle."""
    import ray

    files = nonempty_files(kept_files)
    if not files:
        return REJECT_SCHEMA.empty_table()
    ds = ray.data.read_parquet(files).select_columns(KEY_COLUMNS)
    dups = ds.groupby("text_sha256", num_partitions=_shuffle_partitions(len(files))).map_groups(
        lambda t: exact_duplicates(t, source_rank), batch_format="pyarrow"
    )
    tables = [t.select(REJECT_SCHEMA.names).cast(REJECT_SCHEMA) for t in dataset_tables(dups)]
    if not tables:
        return REJECT_SCHEMA.empty_table()
    return pa.concat_tables(tables).sort_by("doc_id")


INDEX_COLUMNS = ["doc_id", "source", "n_tokens", "locator", "url", "input_path"]


def kept_index(kept_files: list[str]) -> pa.Table:
    """Doc ids, sources and token counts of every kept document (no text on the driver)."""
    tables = [pq.read_table(f, columns=INDEX_COLUMNS) for f in kept_files]
    return pa.concat_tables(tables) if tables else pa.table({c: [] for c in INDEX_COLUMNS})


def write_shards(
    kept_files: list[str], plans: list[ShardPlan], out_dir: Path, loaded: LoadedSpec, summary: dict, with_copy: bool,
    cluster_sizes: dict[str, int] | None = None,
) -> list[dict]:
    """Write every shard in parallel: each planned row (document copy) is routed to its shard, then grouped."""
    import ray

    if not plans:
        return []
    cfg = loaded.spec.shards
    assign: dict[str, list[tuple[int, int, int]]] = {}
    for s, plan in enumerate(plans):
        for pos, (doc_id, copy, _) in enumerate(plan.rows):
            assign.setdefault(doc_id, []).append((s, pos, copy))
    tokenizer = run_tokenizer(loaded) if cfg.input_ids else None
    files = nonempty_files(kept_files)
    ds = ray.data.read_parquet(files)

    def route(t: pa.Table) -> pa.Table:
        take, shard, pos, copy = [], [], [], []
        for i, d in enumerate(t.column("doc_id").to_pylist()):
            for s, p, c in assign.get(d, ()):
                take += [i]
                shard += [s]
                pos += [p]
                copy += [c]
        t = t.take(pa.array(take, pa.int64()))
        if "dup_cluster_size" in t.column_names:  # 1 + documents removed as duplicates of this one
            sizes = pa.array([(cluster_sizes or {}).get(d, 1) for d in t.column("doc_id").to_pylist()], pa.int64())
            t = t.set_column(t.schema.get_field_index("dup_cluster_size"), "dup_cluster_size", sizes)
        return t.append_column("_shard", pa.array(shard, pa.int64())).append_column("_pos", pa.array(pos, pa.int64())).append_column(
            "copy", pa.array(copy, pa.int32())
        )

    def write_group(t: pa.Table) -> pa.Table:
        plan = plans[t.column("_shard")[0].as_py()]
        t = t.sort_by("_pos").drop_columns(["_shard", "_pos"] + ([] if with_copy else ["copy"]))
        if tokenizer is not None:
            ids = tokenizer.encode(t.column("text").to_pylist())
            t = t.append_column("input_ids", pa.array(ids, pa.list_(pa.uint32())))
        entry = write_shard(t, out_dir / plan.filename, cfg.row_group_size, {**summary, "split": plan.split, "index": plan.index})
        return pa.table({k: [v] for k, v in entry.items()})

    grouped = ds.map_batches(route, batch_format="pyarrow").groupby("_shard", num_partitions=_shuffle_partitions(len(plans)))
    entries = grouped.map_groups(write_group, batch_format="pyarrow")
    rows = [r for r in entries.iter_rows()]
    return sorted(rows, key=lambda r: r["path"])


def write_rejected(out_dir: Path, name: str, table: pa.Table) -> dict | None:
    if table.num_rows == 0:
        return None
    path = out_dir / name
    pq.write_table(table.sort_by("doc_id"), path, compression="zstd")
    return {"path": f"rejected/{name}", "sha256": file_sha256(path), "rows": table.num_rows}


def run_pipeline(
    loaded: LoadedSpec,
    output: Path,
    address: str | None = None,
    progress: Progress | None = None,
    keep_work: bool = True,
) -> RunResult:
    """Run the whole pipeline; safe to re-run after a crash (finished partitions are reused)."""
    started = datetime.now(timezone.utc)
    t0 = time.monotonic()
    spec = loaded.spec
    config_sha = stage_config_sha256(loaded)
    planned, files, skipped = plan_partitions(loaded, prepare_config_sha256(loaded))
    output.mkdir(parents=True, exist_ok=True)
    work_dir = output / WORK_DIR
    prepared, store = CheckpointStore(work_dir, "prepare"), CheckpointStore(work_dir, "judge")
    prepared.clean_temporaries()
    store.clean_temporaries()
    ray_address = init_ray(address, spec.ray.num_cpus, spec.ray.shuffle)

    pending_prepare = [p for p in planned if not prepared.is_done(p.key)]
    if spec.boilerplate.enabled:  # run-wide repeated lines sit between the phases
        run_partitions(pending_prepare, loaded, work_dir, progress, prepare=True, judge=False)
        repeated = find_site_boilerplate(
            [str(prepared.lines_file(p.key)) for p in planned], spec.boilerplate.min_docs, _shuffle_partitions(len(planned))
        )
        partitions = judge_plan(planned, prepared, judge_config_sha256(loaded), repeated)
        pending = [p for p in partitions if not store.is_done(p.key)]
        run_partitions(pending, loaded, work_dir, progress, prepare=False, judge=True)
    else:  # nothing between the phases: one pass, one pool of workers
        partitions = judge_plan(planned, prepared, judge_config_sha256(loaded), None)
        pending = [p for p in partitions if not store.is_done(p.key)]
        run_partitions(pending, loaded, work_dir, progress, prepare=True, judge=True)
    resumed = len(partitions) - len(pending)

    counts: dict[str, StageCounts] = {}
    for p in partitions:
        for name, c in store.counts(p.key).items():
            counts.setdefault(name, StageCounts()).add(c)
    kept_files = [str(store.kept_file(p.key)) for p in partitions]
    survivors = counts["tokens"].docs_out if "tokens" in counts else 0

    source_rank: dict[str, int] = {}
    for inp in spec.inputs:
        source_rank.setdefault(inp.source, len(source_rank))
    if spec.dedup.exact.enabled:
        dups = find_exact_duplicates(kept_files, source_rank)
        if progress:
            progress("dedup", 1, 1)
    else:
        dups = REJECT_SCHEMA.empty_table()
    counts[DEDUP_STAGE] = StageCounts(survivors, survivors - dups.num_rows)
    counts[DEDUP_STAGE].rejected.update(dups.column("reason").to_pylist())
    dropped = set(dups.column("doc_id").to_pylist())

    near = None
    if spec.dedup.near.enabled:
        near = find_near_duplicates(
            [str(store.signature_file(p.key)) for p in partitions], loaded, dropped, source_rank,
            _concurrency(spec.ray.dedup.concurrency), _shuffle_partitions(len(partitions)),
        )
        after_exact = counts[DEDUP_STAGE].docs_out
        counts["dedup_near"] = StageCounts(after_exact, after_exact - near.rejected.num_rows)
        counts["dedup_near"].rejected.update(near.rejected.column("reason").to_pylist())
        dropped |= set(near.rejected.column("doc_id").to_pylist())
        if progress:
            progress("dedup_near", 1, 1)
    sizes = cluster_sizes(dups, near)

    for sub in ("shards", "rejected", "signatures"):
        shutil.rmtree(output / sub, ignore_errors=True)
        if sub != "signatures" or near:
            (output / sub).mkdir(parents=True)
    index = kept_index(kept_files)
    tokens_counted = int(pc.sum(index.column("n_tokens")).as_py() or 0)
    index = index.filter(pa.array([d not in dropped for d in index.column("doc_id").to_pylist()], pa.bool_()))
    layout = shard_layout(spec.shards)
    token_funnel = [{"stage": "tokens", "tokens": tokens_counted}, {"stage": "dedup", "tokens": int(pc.sum(index.column("n_tokens")).as_py() or 0)}]
    mixed = apply_mixing(index, spec.mixing) if spec.mixing is not None else None
    if mixed is not None:
        counts[MIX_STAGE] = mixed.counts
    cfg = spec.shards
    plans = plan_shards(
        index.column("doc_id").to_pylist(), index.column("n_tokens").to_pylist(), cfg.target_tokens, cfg.tolerance,
        cfg.seed, cfg.validation_fraction, mixed.copies if mixed else None,
    )
    model_sha = model_sha256(str(loaded.resolve(spec.tokenizer.model)))
    summary = {"pipeline": spec.pipeline.name, "tokenizer_sha256": model_sha, **shard_summary(layout)}
    shards = write_shards(kept_files, plans, output / "shards", loaded, summary, mixed is not None, sizes)
    layout["splits"] = split_totals(shards)
    if mixed is not None:
        token_funnel.append({"stage": MIX_STAGE, "tokens": sum(s["tokens"] for s in shards)})
    if progress:
        progress("shards", len(shards), len(shards))

    rejected_files = []
    for p in partitions:
        entry = write_rejected(output / "rejected", f"partition-{p.index:05d}.parquet", pq.read_table(store.rejected_file(p.key)))
        if entry:
            rejected_files.append(entry)
    if entry := write_rejected(output / "rejected", f"{DEDUP_STAGE}.parquet", dups):
        rejected_files.append(entry)
    if near and (entry := write_rejected(output / "rejected", "dedup_near.parquet", near.rejected)):
        rejected_files.append(entry)
    if mixed is not None and (entry := write_rejected(output / "rejected", f"{MIX_STAGE}.parquet", mixed.rejected)):
        rejected_files.append(entry)

    stages = [{"name": n, **counts[n].to_dict()} for n in STAGE_ORDER if n in counts]
    kept = index.num_rows - (mixed.rejected.num_rows if mixed else 0)
    tokens = sum(s["tokens"] for s in shards)
    resolved = spec.model_dump(mode="json")
    manifest = {
        "manifest_version": manifest_version(),
        "pipeline": {
            "name": spec.pipeline.name,
            "spec_file": recorded_path(loaded.path),
            "spec": resolved,
            "spec_sha256": object_sha256(resolved),
            "stage_config_sha256": config_sha,
        },
        "code": code_record(),
        "libraries": library_versions(),
        "quality_profile": profile_record(quality_profile(loaded)),
        "tokenizer": tokenizer_record(run_tokenizer(loaded), spec.tokenizer.model),
        "inputs": [
            {"path": f.path, "kind": f.kind, "source": f.source, "license": f.license, "bytes": f.size, "sha256": f.sha256}
            for f in files
        ],
        "skipped_inputs": skipped,
        "partitions": len(partitions),
        "stages": stages,
        "shards": shards,
        "rejected_files": rejected_files,
        "totals": {**totals(stages, kept, tokens), "shard_rows": sum(s["rows"] for s in shards)},
        **cleaning_totals(kept_files, dropped, spec.pii.types if spec.pii.enabled else None, spec.boilerplate.enabled),
        **({"dedup_near": near_manifest(spec.dedup.near, near, write_signatures(store, partitions, dropped, output))} if near else {}),
        "shard_layout": layout,
        "token_funnel": token_funnel,
        "mixing": mixed.record if mixed else None,
        "volatile": {
            "_note": "the only fields that differ between identical runs",
            "started_at": started.isoformat(timespec="seconds"),
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "duration_seconds": round(time.monotonic() - t0, 3),
            "ray_address": ray_address,
            "resumed_partitions": resumed,
            "resumed_prepared_partitions": len(planned) - len(pending_prepare),
        },
    }
    finish_run(output, manifest)  # licences summary, provenance records, ATTRIBUTION.md, datasheet, Croissant
    write_manifest(output / "manifest.json", manifest)
    write_report(output, manifest)
    if not keep_work:
        shutil.rmtree(work_dir, ignore_errors=True)
    return RunResult(output, manifest, resumed, len(pending))
