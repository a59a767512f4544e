"""The Ray side of near-dedup: band keys by ``map_batches``, buckets by ``groupby``, edges to the driver.

What reaches the driver: the verified edges (two doc ids each) and, for the documents on those
edges only, their signature rows (doc id, locator, source, length, 4 bytes per permutation) to
choose representatives and fill rejection records. Texts never leave the partition files and the
signatures of documents without a near-duplicate never leave the shuffle, so driver memory grows
with the number of duplicates, not with the corpus.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpus.dedup.lsh import lsh_threshold
from corpus.dedup.near import REF_PREFIX, band_rows, bucket_edges, resolve_clusters
from corpus.document import REJECT_SCHEMA
from corpus.dedup.minhash import SIGNATURE_SCHEMA
from corpus.dedup.reference import SIGNATURE_DIR, reference_files, signature_settings
from corpus.pipeline.partitions import CheckpointStore, Partition
from corpus.pipeline.spec import LoadedSpec, NearDedupSpec
from corpus.io.hashing import file_sha256


@dataclass
class NearResult:
    rejected: pa.Table
    cluster_sizes: dict[str, int] = field(default_factory=dict)
    histogram: dict[str, int] = field(default_factory=dict)
    edges: int = 0


def near_threshold(near: NearDedupSpec) -> float:
    """The Jaccard a merged pair is held to: the verification minimum, else the LSH threshold."""
    return near.min_jaccard if near.min_jaccard > 0 else lsh_threshold(near.bands, near.rows)


def nonempty_files(files: list[str]) -> list[str]:
    """The Parquet files that hold at least one row (Ray Data's readers want no empty ones)."""
    return [f for f in files if pq.read_metadata(f).num_rows > 0]


def dataset_tables(ds) -> list[pa.Table]:
    """The non-empty Arrow tables of a Ray dataset, pulled to the driver in order."""
    out = []
    for b in ds.iter_batches(batch_format="pyarrow"):
        t = pa.Table.from_batches([b]) if isinstance(b, pa.RecordBatch) else b
        if t.num_rows:
            out.append(t)
    return out


def find_near_duplicates(
    sig_files: list[str], loaded: LoadedSpec, dropped: set[str], source_rank: dict[str, int], concurrency: int, num_partitions: int,
) -> NearResult:
    """Near-duplicate rejections among this run's survivors of exact dedup (and against the reference)."""
    import ray

    near = loaded.spec.dedup.near
    refs = reference_files(loaded.resolve(near.reference)) if near.reference else []
    new_files, ref_files = nonempty_files([f for f in sig_files if Path(f).is_file()]), nonempty_files(refs)
    if not new_files:
        return NearResult(REJECT_SCHEMA.empty_table())
    b, r, min_j = near.bands, near.rows, near.min_jaccard
    frozen = frozenset(dropped)

    def bands_of(files: list[str], reference: bool):
        ds = ray.data.read_parquet(files).select_columns(["doc_id", "signature"])
        return ds.map_batches(lambda t: band_rows(t, b, r, frozen, reference), batch_format="pyarrow", concurrency=concurrency)

    bands = bands_of(new_files, False)
    if ref_files:
        bands = bands.union(bands_of(ref_files, True))
    edge_ds = bands.groupby("band_key", num_partitions=num_partitions).map_groups(
        lambda t: bucket_edges(t, min_j), batch_format="pyarrow"
    )
    edges = sorted({(a, c) for t in dataset_tables(edge_ds) for a, c in zip(t.column("doc_a").to_pylist(), t.column("doc_b").to_pylist())})
    if not edges:
        return NearResult(REJECT_SCHEMA.empty_table())

    nodes = {d for e in edges for d in e}
    members: dict[str, dict[str, Any]] = {}
    for files, prefix in ((new_files, ""), (ref_files, REF_PREFIX)):
        wanted = pa.array(sorted(d[len(prefix):] for d in nodes if d.startswith(REF_PREFIX) == bool(prefix)), pa.string())
        if not files or not len(wanted):
            continue
        ds = ray.data.read_parquet(files).map_batches(
            lambda t, w=wanted: t.filter(pc.is_in(t.column("doc_id"), value_set=w)), batch_format="pyarrow", concurrency=concurrency
        )
        for t in dataset_tables(ds):
            for row in t.to_pylist():
                row["doc_id"] = prefix + row["doc_id"]
                members[row["doc_id"]] = {**row, "reference": bool(prefix)}
    rejected, sizes, histogram = resolve_clusters(edges, members, near.representative, source_rank, near_threshold(near))
    return NearResult(rejected, sizes, histogram, len(edges))


def cluster_sizes(exact: pa.Table, near: NearResult | None) -> dict[str, int]:
    """Kept doc id -> 1 + documents removed as its duplicates (exact copies and near-dup cluster).

    An exact copy of a document that near dedup then removed counts towards that document's
    representative. Only documents with duplicates appear; every other kept document has size 1.
    """
    sizes = dict(near.cluster_sizes) if near else {}
    rep_of: dict[str, str] = {}
    if near and near.rejected.num_rows:
        rep_of = dict(zip(near.rejected.column("doc_id").to_pylist(), near.rejected.column("duplicate_of").to_pylist()))
    for target in exact.column("duplicate_of").to_pylist():
        root = rep_of.get(target, target)
        sizes[root] = sizes.get(root, 1) + 1
    return sizes


def write_signatures(store: CheckpointStore, partitions: list[Partition], dropped: set[str], output: Path) -> list[dict]:
    """Signatures of the kept documents into ``output/signatures/`` (a later run's reference)."""
    entries = []
    for p in partitions:
        src = store.signature_file(p.key)
        if not src.is_file():
            continue
        t = pq.read_table(src)
        t = t.filter(pa.array([d not in dropped for d in t.column("doc_id").to_pylist()], pa.bool_())).sort_by("doc_id")
        if not t.num_rows:
            continue
        path = output / SIGNATURE_DIR / f"part-{p.index:05d}.parquet"
        pq.write_table(t.cast(SIGNATURE_SCHEMA), path, compression="zstd")
        entries.append({"path": f"{SIGNATURE_DIR}/{path.name}", "sha256": file_sha256(path), "rows": t.num_rows})
    return entries


def near_manifest(near: NearDedupSpec, result: NearResult, signatures: list[dict]) -> dict[str, Any]:
    """The manifest's ``dedup_near`` section: settings, what was found, and the signature files."""
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
        },
        "reference": near.reference,
        "edges": result.edges,
        "clusters": sum(result.histogram.values()),
        "cluster_size_histogram": result.histogram,
        "signatures": signatures,
    }
