"""Near-duplicate clusters: band rows, bucket edges, and one deliberate representative per cluster.

The three steps are plain functions over Arrow tables so the Ray runner can run them as
``map_batches`` (``band_rows``), ``groupby(band_key).map_groups`` (``bucket_edges``) and, on the
driver, ``resolve_clusters`` over the edges and the few member rows of the clusters. No step needs
every signature in one process.

A candidate pair becomes an edge only if its estimated Jaccard (from the full signatures) is at
least ``min_jaccard``: LSH alone also pairs documents well below its threshold now and then, and
union-find would chain such pairs into clusters of unrelated documents.
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from typing import Any

import numpy as np
import pyarrow as pa

from corpus.dedup.lsh import band_keys
from corpus.dedup.minhash import estimate_jaccard, signature_from_bytes
from corpus.dedup.unionfind import components
from corpus.document import rejects_from_rows
from corpus.stage import Rejection, reject_row

STAGE = "dedup_near"
REASON = "near_duplicate"
#: Buckets larger than this compare every member with the bucket's first one only (O(n), not O(n^2)).
MAX_PAIRWISE_BUCKET = 64
#: Reference (earlier corpus) doc ids are prefixed inside the dedup step, so a document re-crawled
#: byte-identical (same doc_id) is still a separate node and is removed as a copy of the old one.
REF_PREFIX = "ref:"

BAND_SCHEMA = pa.schema(
    [
        pa.field("band_key", pa.int64()),
        pa.field("doc_id", pa.string()),
        pa.field("reference", pa.bool_()),
        pa.field("signature", pa.binary()),
    ]
)
EDGE_SCHEMA = pa.schema([pa.field("doc_a", pa.string()), pa.field("doc_b", pa.string()), pa.field("jaccard", pa.float64())])


def band_rows(sigs: pa.Table, b: int, r: int, dropped: set[str] | frozenset = frozenset(), reference: bool = False) -> pa.Table:
    """One row per (document, band) of a SIGNATURE_SCHEMA table, minus already-dropped documents."""
    ids = sigs.column("doc_id").to_pylist()
    raw = sigs.column("signature").to_pylist()
    keep = [i for i, d in enumerate(ids) if d not in dropped]
    if not keep:
        return BAND_SCHEMA.empty_table()
    matrix = np.stack([signature_from_bytes(raw[i]) for i in keep])
    keys = band_keys(matrix, b, r)
    return pa.table(
        {
            "band_key": keys.reshape(-1),
            "doc_id": [(REF_PREFIX if reference else "") + ids[i] for i in keep for _ in range(b)],
            "reference": [reference] * (len(keep) * b),
            "signature": [raw[i] for i in keep for _ in range(b)],
        },
        schema=BAND_SCHEMA,
    )


def bucket_edges(bucket: pa.Table, min_jaccard: float) -> pa.Table:
    """Verified pairs of one bucket (rows sharing a band key); pairs of two reference docs are skipped."""
    rows = sorted(
        {(d, ref, s) for d, ref, s in zip(bucket.column("doc_id").to_pylist(), bucket.column("reference").to_pylist(), bucket.column("signature").to_pylist())}
    )
    if len(rows) < 2:
        return EDGE_SCHEMA.empty_table()
    pairs = combinations(rows, 2) if len(rows) <= MAX_PAIRWISE_BUCKET else ((rows[0], x) for x in rows[1:])
    out: dict[str, list] = {"doc_a": [], "doc_b": [], "jaccard": []}
    for (da, ra, sa), (db, rb, sb) in pairs:
        if ra and rb:
            continue
        j = estimate_jaccard(signature_from_bytes(sa), signature_from_bytes(sb))
        if j >= min_jaccard:
            out["doc_a"].append(da)
            out["doc_b"].append(db)
            out["jaccard"].append(j)
    return pa.table(out, schema=EDGE_SCHEMA)


def representative_order(members: list[dict[str, Any]], rule: str, source_rank: dict[str, int]) -> list[dict[str, Any]]:
    """Members best-first: reference docs (an earlier corpus) first, then the spec's rule.

    ``source_priority``: spec input order, then longest text, then doc_id. ``newest``: latest
    ``fetch_time`` first (missing last), then the same tie-breaks. Never arrival order, so the
    choice is the same for any number of workers.
    """
    order = sorted(members, key=lambda m: (source_rank.get(m["source"], len(source_rank)), -(m["n_chars"] or 0), m["doc_id"]))
    if rule == "newest":
        order = sorted(order, key=lambda m: m["fetch_time"] or "", reverse=True)
    return sorted(order, key=lambda m: not m["reference"])


def resolve_clusters(
    edges: list[tuple[str, str]], members: dict[str, dict[str, Any]], rule: str, source_rank: dict[str, int], threshold: float
) -> tuple[pa.Table, dict[str, int], dict[str, int]]:
    """Rejections for every non-representative, cluster sizes of representatives, size histogram.

    ``members`` maps each doc id in ``edges`` to its SIGNATURE_SCHEMA row plus ``reference``.
    A rejection's ``value`` is the estimated Jaccard between the removed document and its
    representative (which may be below ``threshold`` when the two are linked through others).
    """
    rejected: list[dict[str, Any]] = []
    sizes: dict[str, int] = {}
    histogram: Counter = Counter()
    for comp in components(edges):
        order = representative_order([members[d] for d in comp], rule, source_rank)
        rep = order[0]
        rep_sig = signature_from_bytes(rep["signature"])
        new = [m for m in order[1:] if not m["reference"]]
        if not new:
            continue
        histogram[len(comp)] += 1
        if not rep["reference"]:
            sizes[rep["doc_id"]] = len(comp)
        for m in new:
            j = estimate_jaccard(signature_from_bytes(m["signature"]), rep_sig)
            origin = "an earlier corpus" if rep["reference"] else "this run"
            why = Rejection(REASON, rule="minhash_lsh", value=j, threshold=threshold, duplicate_of=rep["doc_id"].removeprefix(REF_PREFIX),
                            detail=f"cluster of {len(comp)}; representative from {origin} by rule {rule}")
            rejected.append(reject_row(m, STAGE, why))
    return rejects_from_rows(rejected), sizes, {str(k): v for k, v in sorted(histogram.items())}
