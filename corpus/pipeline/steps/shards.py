"""Mixing and token-budgeted shards, without the corpus ever passing through the driver.

1. One planning task reads the kept documents' ids, sources and token counts (no text), leaves out
   the duplicates, applies per-source mixing (copies per document) and plans every shard
   (corpus/tokens/shards.py: split by doc_id hash, seeded hash order, token window). It writes the
   plan per partition: which row of the partition goes to which shard, at which position.
2. One routing task per partition takes its planned rows (with their copies and cluster sizes)
   and writes them into one file per shard they go to.
3. One writing task per shard reads its routed rows, puts them in plan order and writes the shard.

Contents and names depend only on the kept set and the spec, never on the number of workers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpus.dedup.exact import KEY_COLUMNS
from corpus.io import storage
from corpus.pipeline.context import WorkerContext
from corpus.pipeline.steps import RunState, StageRecord, StepResult
from corpus.pipeline.steps.near import doc_ids_of
from corpus.stage import StageCounts
from corpus.pipeline.build import run_tokenizer
from corpus.tokens.tokenizer import model_sha256
from corpus.tokens.mixing import STAGE as MIX_STAGE, apply_mixing
from corpus.tokens.shards import plan_shards, shard_layout, shard_summary, split_totals, write_shard

PLAN_SCHEMA = pa.schema([pa.field("row", pa.int64()), pa.field("shard", pa.int32()), pa.field("pos", pa.int64()), pa.field("copy", pa.int32())])
INDEX_COLUMNS = list(dict.fromkeys([*KEY_COLUMNS, "n_tokens"]))


def plan_task(ctx: WorkerContext, kept_files: list[str], dropped_files: list[str], plan_dir: str, mix_out: str) -> dict[str, Any]:
    """Plan mixing and shards; write the per-partition plans; return shard list, mixing record, token funnel."""
    spec = ctx.spec
    parts = []
    for p, f in enumerate(kept_files):
        t = storage.read_table(f, columns=INDEX_COLUMNS)
        parts.append(t.append_column("_part", pa.array([p] * t.num_rows, pa.int32())).append_column("_row", pa.array(range(t.num_rows), pa.int64())))
    index = pa.concat_tables(parts) if parts else pa.table({c: [] for c in INDEX_COLUMNS + ["_part", "_row"]})
    tokens_counted = int(pc.sum(index.column("n_tokens")).as_py() or 0)
    dropped = doc_ids_of(dropped_files)
    if len(dropped):
        index = index.filter(pc.invert(pc.is_in(index.column("doc_id"), value_set=dropped)))
    tokens_deduped = int(pc.sum(index.column("n_tokens")).as_py() or 0)
    mixed = apply_mixing(index, spec.mixing) if spec.mixing is not None else None
    if mixed is not None and mixed.rejected.num_rows:
        storage.write_table(mixed.rejected, mix_out)
    cfg = spec.shards
    doc_ids = index.column("doc_id").to_pylist()
    plans = plan_shards(doc_ids, index.column("n_tokens").to_pylist(), cfg.target_tokens, cfg.tolerance, cfg.seed, cfg.validation_fraction, mixed.copies if mixed else None)
    written = write_partition_plans(plans, index.select(["doc_id", "_part", "_row"]), plan_dir)
    return {
        "shards": [{"split": p.split, "index": p.index, "filename": p.filename, "tokens": p.tokens, "rows": len(p.rows)} for p in plans],
        "plans": written,
        "mixing": mixed.record if mixed else None,
        "mix_counts": mixed.counts.to_dict() if mixed else None,
        "mix_rejected": mixed.rejected.num_rows if mixed else 0,
        "tokens_counted": tokens_counted,
        "tokens_deduped": tokens_deduped,
    }


def write_partition_plans(plans: list, where: pa.Table, plan_dir: str) -> dict[int, str]:
    """Each partition's share of the plan (row in the partition, shard, position, copy), one file
    per partition, found with an Arrow join of the planned rows on doc_id."""
    doc, copy, shard, pos = [], [], [], []
    for s, plan in enumerate(plans):
        for p, (doc_id, c, _) in enumerate(plan.rows):
            doc.append(doc_id)
            copy.append(c)
            shard.append(s)
            pos.append(p)
    planned = pa.table({"doc_id": pa.array(doc, pa.string()), "copy": pa.array(copy, pa.int32()),
                        "shard": pa.array(shard, pa.int32()), "pos": pa.array(pos, pa.int64())})
    rows = planned.join(where, "doc_id").sort_by([("_part", "ascending"), ("_row", "ascending"), ("copy", "ascending")])
    parts = rows.column("_part").to_numpy()
    bounds = np.flatnonzero(np.diff(parts)) + 1
    written = {}
    for start, end in zip(np.concatenate([[0], bounds]), np.concatenate([bounds, [len(parts)]])):
        if start == end:
            continue
        part = int(parts[start])
        t = rows.slice(int(start), int(end - start))
        location = storage.join(plan_dir, f"part-{part:05d}.parquet")
        storage.write_table(pa.table([t.column("_row"), t.column("shard"), t.column("pos"), t.column("copy")], schema=PLAN_SCHEMA), location)
        written[part] = location
    return written


def route_task(ctx: WorkerContext, part: int, kept_file: str, plan_file: str, sizes_file: str | None, routed_dir: str) -> list[int]:
    """Write this partition's planned rows (copies included) into one file per destination shard."""
    plan = storage.read_table(plan_file)
    t = storage.read_table(kept_file).take(plan.column("row"))
    if "dup_cluster_size" in t.column_names:  # 1 + documents removed as duplicates of this one
        sizes = storage.read_table(sizes_file) if sizes_file else None
        ones = pa.array([1] * t.num_rows, pa.int64())
        if sizes is not None and sizes.num_rows:
            found = pc.take(sizes.column("dup_cluster_size"), pc.index_in(t.column("doc_id"), value_set=sizes.column("doc_id")))
            ones = pc.fill_null(found, 1)
        t = t.set_column(t.schema.get_field_index("dup_cluster_size"), "dup_cluster_size", ones)
    t = t.append_column("_shard", plan.column("shard")).append_column("_pos", plan.column("pos")).append_column("copy", plan.column("copy"))
    shards = sorted(set(plan.column("shard").to_pylist()))
    for s in shards:
        storage.write_table(t.filter(pc.equal(t.column("_shard"), s)), storage.join(routed_dir, f"{s:05d}", f"part-{part:05d}.parquet"))
    return shards


def write_shard_task(ctx: WorkerContext, shard: dict[str, Any], routed: list[str], summary: dict[str, Any], with_copy: bool) -> dict[str, Any]:
    cfg = ctx.spec.shards
    t = pa.concat_tables([storage.read_table(f) for f in routed]).sort_by("_pos").drop_columns(["_shard", "_pos"] + ([] if with_copy else ["copy"]))
    if cfg.input_ids:
        ids = run_tokenizer(ctx.loaded).encode(t.column("text").to_pylist())
        t = t.append_column("input_ids", pa.array(ids, pa.list_(pa.uint32())))
    target = storage.join(ctx.setup.output, "shards", shard["filename"])
    return write_shard(t, target, cfg.row_group_size, {**summary, "split": shard["split"], "index": shard["index"]})


def run(state: RunState) -> StepResult:
    spec = state.spec
    plan_dir, routed_dir = state.work("run", "plan"), state.work("run", "routed")
    mix_out = state.work("run", f"{MIX_STAGE}.parquet")
    planned = state.pool.run(plan_task, state.kept_files, list(state.dropped_files), plan_dir, mix_out)
    result = StepResult()
    if planned["mix_counts"] is not None:
        counts = StageCounts.from_dict(planned["mix_counts"])
        result.stages.append(StageRecord(MIX_STAGE, counts, [mix_out] if planned["mix_rejected"] else []))
    routes = [(p, state.kept_files[p], loc, state.cluster_sizes_file, routed_dir) for p, loc in sorted(planned["plans"].items())]
    routed: dict[int, list[str]] = {}
    for (p, *_), shards in zip(routes, state.pool.map(route_task, routes)):
        for s in shards:
            routed.setdefault(s, []).append(storage.join(routed_dir, f"{s:05d}", f"part-{p:05d}.parquet"))
    layout = shard_layout(spec.shards)
    model_sha = model_sha256(str(state.setup.loaded.resolve(spec.tokenizer.model)))
    summary = {"pipeline": spec.pipeline.name, "tokenizer_sha256": model_sha, **shard_summary(layout)}
    shards = planned["shards"]
    state.ledger.add(*(f"shards/{s['filename']}" for s in shards))
    entries = state.map_reported("shards", write_shard_task, [(s, routed[i], summary, spec.mixing is not None) for i, s in enumerate(shards)])
    state.shards = sorted(entries, key=lambda e: e["path"])
    layout["splits"] = split_totals(state.shards)
    funnel = [{"stage": "tokens", "tokens": planned["tokens_counted"]}, {"stage": "dedup", "tokens": planned["tokens_deduped"]}]
    if planned["mixing"] is not None:
        funnel.append({"stage": MIX_STAGE, "tokens": sum(s["tokens"] for s in state.shards)})
    result.manifest = {"shards": state.shards, "shard_layout": layout, "token_funnel": funnel, "mixing": planned["mixing"], "tokenizer_sha256": model_sha}
    return result
