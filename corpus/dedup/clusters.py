"""How many documents each kept document stands for: 1 + the exact and near duplicates removed for it.

The shards carry it as ``dup_cluster_size`` (a training team can weight or inspect by it). Only
documents with duplicates get a row; every other kept document has size 1.
"""

from __future__ import annotations

import pyarrow as pa

SIZE_SCHEMA = pa.schema([pa.field("doc_id", pa.string()), pa.field("dup_cluster_size", pa.int64())])


def dup_cluster_sizes(exact: pa.Table, near_rejected: pa.Table, near_sizes: dict[str, int]) -> pa.Table:
    """Kept doc id -> cluster size. An exact copy of a document that near dedup then removed
    counts towards that document's representative."""
    sizes = dict(near_sizes)
    rep_of = dict(zip(near_rejected.column("doc_id").to_pylist(), near_rejected.column("duplicate_of").to_pylist())) if near_rejected.num_rows else {}
    for target in exact.column("duplicate_of").to_pylist() if exact.num_rows else []:
        root = rep_of.get(target, target)
        sizes[root] = sizes.get(root, 1) + 1
    ids = sorted(sizes)
    return pa.table({"doc_id": ids, "dup_cluster_size": [sizes[d] for d in ids]}, schema=SIZE_SCHEMA)
