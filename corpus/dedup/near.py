"""Near-duplicate clusters: candidate pairs from LSH buckets, verified edges, and clusters whose
every removed member is verified against the member it is removed for.

The steps are plain functions over Arrow tables and numpy arrays, so the runner can spread them
over workers: ``bucket_candidates`` finds candidate pairs among the band keys of one bucket of
keys, ``verified_edges`` keeps the pairs whose estimated Jaccard reaches the threshold, and
``resolve_clusters`` (one task, over the edges and the few member rows they name) picks the
representatives.

Why verify against the representative: union-find chains pairs. A~B and B~C put A and C in one
cluster even when A and C share little; removing C "as a duplicate of A" would then remove a
document that is not one. Here a member is removed only if its own Jaccard with the kept
document named in its ``duplicate_of`` is at least the threshold; members that are not close to
the first representative are judged again among themselves (the best of them kept, and so on).
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from typing import Any

import numpy as np
import pyarrow as pa

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

EDGE_SCHEMA = pa.schema([pa.field("doc_a", pa.string()), pa.field("doc_b", pa.string()), pa.field("jaccard", pa.float64())])


def bucket_candidates(keys: np.ndarray, ids: np.ndarray) -> set[tuple[int, int]]:
    """Candidate pairs (row ids, smaller first) among rows sharing a band key.

    ``keys`` and ``ids`` are aligned 1-d arrays (one entry per (document, band) that falls in this
    task's bucket). A bucket with more than MAX_PAIRWISE_BUCKET distinct documents pairs each with
    its smallest member only.
    """
    if len(keys) < 2:
        return set()
    order = np.lexsort((ids, keys))
    k, d = keys[order], ids[order]
    bounds = np.flatnonzero(np.diff(k)) + 1
    pairs: set[tuple[int, int]] = set()
    for group in np.split(d, bounds):
        if len(group) < 2:
            continue
        members = np.unique(group)
        if len(members) < 2:
            continue
        if len(members) <= MAX_PAIRWISE_BUCKET:
            pairs.update((int(a), int(b)) for a, b in combinations(members, 2))
        else:
            first = int(members[0])
            pairs.update((first, int(b)) for b in members[1:])
    return pairs


def verified_edges(pairs: set[tuple[int, int]], signatures: dict[int, bytes], names: dict[int, str], reference: dict[int, bool], min_jaccard: float) -> pa.Table:
    """EDGE_SCHEMA rows of the candidate pairs whose estimated Jaccard reaches ``min_jaccard``
    (pairs of two reference documents are skipped: an earlier corpus is not deduplicated again)."""
    out: dict[str, list] = {"doc_a": [], "doc_b": [], "jaccard": []}
    for a, b in sorted(pairs):
        if reference[a] and reference[b]:
            continue
        j = estimate_jaccard(signature_from_bytes(signatures[a]), signature_from_bytes(signatures[b]))
        if j >= min_jaccard:
            da, db = sorted((names[a], names[b]))
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
    """Rejections, cluster sizes of kept representatives, and the histogram of cluster sizes.

    ``members`` maps each doc id in ``edges`` to its SIGNATURE_SCHEMA row plus ``reference``.
    Within each connected component, in representative order: the best remaining member is kept,
    every remaining member within ``threshold`` of it is removed as its duplicate (its ``value`` is
    that Jaccard), and the rest are judged again among themselves. A reference member (an earlier
    corpus) removes new members but is never itself removed or counted.
    """
    rejected: list[dict[str, Any]] = []
    sizes: dict[str, int] = {}
    histogram: Counter = Counter()
    for comp in components(edges):
        remaining = representative_order([members[d] for d in comp], rule, source_rank)
        while remaining:
            rep, rest = remaining[0], remaining[1:]
            rep_sig = signature_from_bytes(rep["signature"])
            close, far = [], []
            for m in rest:
                j = estimate_jaccard(signature_from_bytes(m["signature"]), rep_sig)
                (close if j >= threshold and not m["reference"] else far).append((m, j))
            remaining = [m for m, _ in far]
            if not close:
                continue
            histogram[len(close) + 1] += 1
            if not rep["reference"]:
                sizes[rep["doc_id"]] = len(close) + 1
            origin = "an earlier corpus" if rep["reference"] else "this run"
            for m, j in close:
                why = Rejection(
                    REASON, rule="minhash_lsh", value=j, threshold=threshold, duplicate_of=rep["doc_id"].removeprefix(REF_PREFIX),
                    detail=f"Jaccard {j:.3f} to the kept member of a component of {len(comp)}; kept member from {origin} by rule {rule}",
                )
                rejected.append(reject_row(m, STAGE, why))
    return rejects_from_rows(rejected).sort_by("doc_id"), sizes, {str(k): v for k, v in sorted(histogram.items())}
