"""Run-wide near dedup: LSH band keys in buckets (one task per bucket), then one clustering task.

Each bucket task reads every partition's signatures (without the exact duplicates already
removed), keeps the (document, band) keys that fall in its bucket, pairs documents sharing a key,
fetches the signatures of those candidates only and writes the verified edges and the rows of
their documents. The clustering task reads the edges (their number grows with the duplicates, not
with the corpus), forms components and picks representatives (corpus/dedup/near.py). The output
does not depend on the number of buckets: all keys of a bucket are in one task.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpus.dedup.clusters import SIZE_SCHEMA, dup_cluster_sizes
from corpus.dedup.lsh import band_keys, lsh_threshold
from corpus.dedup.minhash import SIGNATURE_SCHEMA
from corpus.dedup.near import EDGE_SCHEMA, REF_PREFIX, STAGE, bucket_candidates, resolve_clusters, verified_edges
from corpus.dedup.reference import reference_files, signature_settings
from corpus.document import REJECT_SCHEMA
from corpus.io import storage
from corpus.pipeline.context import WorkerContext
from corpus.pipeline.spec import NearDedupSpec
from corpus.pipeline.steps import RunState, StageRecord, StepResult
from corpus.stage import StageCounts

MEMBER_SCHEMA = SIGNATURE_SCHEMA.append(pa.field("reference", pa.bool_()))


def near_threshold(near: NearDedupSpec) -> float:
    """The Jaccard a removed document is held to: the verification minimum, else the LSH threshold."""
    return near.min_jaccard if near.min_jaccard > 0 else lsh_threshold(near.bands, near.rows)


def doc_ids_of(files: list[str]) -> pa.Array:
    """The doc_id column of rejection files, as one array (for ``is_in`` filters)."""
    parts = [storage.read_table(f, columns=["doc_id"]).column("doc_id").combine_chunks() for f in files]
    return pa.concat_arrays(parts) if parts else pa.array([], pa.string())


def _signature_matrix(column: pa.ChunkedArray, num_perm: int) -> np.ndarray:
    arr = column.combine_chunks()
    if not len(arr):
        return np.zeros((0, num_perm), dtype=np.uint32)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
    values = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    return values.view(np.uint32).reshape(len(arr), num_perm)


def near_bucket_task(
    ctx: WorkerContext, files: list[tuple[str, bool]], dropped_files: list[str], bucket: int, buckets: int, out: str
) -> int:
    """Verified edges among documents sharing a band key in ``bucket``; writes edges and member rows."""
    near = ctx.spec.dedup.near
    num_perm = near.bands * near.rows
    dropped = doc_ids_of(dropped_files)
    keys, ids, kept_rows, bases = [], [], [], []  # a gid is bases[file] + position in kept_rows[file]
    base = 0
    for fi, (f, reference) in enumerate(files):
        t = storage.read_table(f, columns=["doc_id", "signature"])
        rows = np.arange(t.num_rows)
        if not reference and len(dropped):
            rows = np.flatnonzero(~pc.is_in(t.column("doc_id"), value_set=dropped).to_numpy(zero_copy_only=False))
        matrix = _signature_matrix(t.column("signature"), num_perm)[rows]
        k = band_keys(matrix, near.bands, near.rows)
        sel = k.view(np.uint64) % np.uint64(buckets) == np.uint64(bucket)
        r, _ = np.nonzero(sel)
        keys.append(k[sel])
        ids.append(base + r)
        kept_rows.append(rows)
        bases.append(base)
        base += len(rows)
    pairs = bucket_candidates(np.concatenate(keys) if keys else np.zeros(0, np.int64), np.concatenate(ids) if ids else np.zeros(0, np.int64))
    needed = sorted({g for p in pairs for g in p})
    member_rows: dict[int, dict[str, Any]] = {}
    by_file: dict[int, list[int]] = {}
    for g in needed:
        by_file.setdefault(int(np.searchsorted(bases, g, side="right")) - 1, []).append(g)
    for fi, gids in by_file.items():
        f, reference = files[fi]
        t = storage.read_table(f).take(pa.array([int(kept_rows[fi][g - bases[fi]]) for g in gids]))
        for g, row in zip(gids, t.to_pylist()):
            row["doc_id"] = (REF_PREFIX if reference else "") + row["doc_id"]
            member_rows[g] = {**row, "reference": reference}
    edges = verified_edges(
        pairs, {g: m["signature"] for g, m in member_rows.items()}, {g: m["doc_id"] for g, m in member_rows.items()},
        {g: m["reference"] for g, m in member_rows.items()}, near_threshold(near),
    )
    if edges.num_rows:
        on_edges = set(edges.column("doc_a").to_pylist()) | set(edges.column("doc_b").to_pylist())
        members = [m for m in member_rows.values() if m["doc_id"] in on_edges]
        storage.write_table(edges, out + ".edges.parquet")
        storage.write_table(pa.Table.from_pylist(members, schema=MEMBER_SCHEMA), out + ".members.parquet")
    return edges.num_rows


def cluster_task(ctx: WorkerContext, parts: list[str], exact_files: list[str], source_rank: dict[str, int], out: str) -> dict[str, Any]:
    """Components of all edges, representatives, rejections; and every kept document's cluster size."""
    near = ctx.spec.dedup.near
    edges: set[tuple[str, str]] = set()
    members: dict[str, dict[str, Any]] = {}
    for p in parts:
        t = storage.read_table(p + ".edges.parquet")
        edges.update(zip(t.column("doc_a").to_pylist(), t.column("doc_b").to_pylist()))
        for row in storage.read_table(p + ".members.parquet").to_pylist():
            members[row["doc_id"]] = row
    rejected, sizes, histogram = resolve_clusters(sorted(edges), members, near.representative, source_rank, near_threshold(near))
    if rejected.num_rows:
        storage.write_table(rejected, out)
    exact = pa.concat_tables([storage.read_table(f) for f in exact_files]) if exact_files else REJECT_SCHEMA.empty_table()
    storage.write_table(dup_cluster_sizes(exact, rejected, sizes), out + ".sizes.parquet")
    return {"rejected": rejected.num_rows, "edges": len(edges), "histogram": histogram}


def sizes_task(ctx: WorkerContext, exact_files: list[str], out: str) -> None:
    """Cluster sizes from exact duplicates alone (near dedup off)."""
    exact = pa.concat_tables([storage.read_table(f) for f in exact_files]) if exact_files else REJECT_SCHEMA.empty_table()
    storage.write_table(dup_cluster_sizes(exact, REJECT_SCHEMA.empty_table(), {}), out)


def near_manifest(near: NearDedupSpec, found: dict[str, Any]) -> dict[str, Any]:
    """The manifest's ``dedup_near`` section: settings and what was found (signatures are added later)."""
    return {
        "settings": {
            **signature_settings(near.model_dump()),
            "bands": near.bands,
            "rows": near.rows,
            "min_jaccard": near.min_jaccard,
            "lsh_threshold": round(lsh_threshold(near.bands, near.rows), 6),
            "threshold": round(near_threshold(near), 6),
            "representative": near.representative,
            "scheme": "datasketch MinHash affine32",
            "verification": "every removed document against the kept document it names (duplicate_of)",
        },
        "reference": near.reference,
        "edges": found["edges"],
        "clusters": sum(found["histogram"].values()),
        "cluster_size_histogram": found["histogram"],
    }


def run(state: RunState) -> StepResult:
    near = state.spec.dedup.near
    survivors = state.survivors()
    exact_files = list(state.dropped_files)
    sizes_out = state.work("run", "cluster_sizes.parquet")
    if not near.enabled:
        state.pool.run(sizes_task, exact_files, sizes_out)
        state.cluster_sizes_file = sizes_out
        return StepResult()
    refs = reference_files(state.setup.loaded.location(near.reference)) if near.reference else []
    files = [(f, False) for f in state.signature_files if storage.parquet_rows(f)] + [(f, True) for f in refs if storage.parquet_rows(f)]
    buckets = max(1, state.pool.size)
    outs = [state.work("run", f"near-{i:03d}") for i in range(buckets)]
    edge_counts = state.pool.map(near_bucket_task, [(files, exact_files, i, buckets, o) for i, o in enumerate(outs)]) if files else []
    out = state.work("run", f"{STAGE}.parquet")
    found = state.pool.run(cluster_task, [o for o, n in zip(outs, edge_counts) if n], exact_files, state.source_rank(), out)
    state.cluster_sizes_file = out + ".sizes.parquet"
    counts = StageCounts(survivors, survivors - found["rejected"])
    if found["rejected"]:
        counts.rejected["near_duplicate"] = found["rejected"]
    written = [out] if found["rejected"] else []
    state.dropped_files.extend(written)
    state.report("dedup_near", 1, 1)
    return StepResult([StageRecord(STAGE, counts, written)], {"dedup_near": near_manifest(near, found)})
