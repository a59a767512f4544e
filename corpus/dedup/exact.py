"""Exact duplicates: documents whose normalised text hashes the same.

Vectorised over an Arrow table of key columns (no text): sort by text hash and representative
order, keep the first row of each hash group, reject the others as its duplicates. The runner
hands it all rows whose hash falls in one bucket, so no process needs the whole corpus.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpus.document import REJECT_SCHEMA

STAGE = "dedup_exact"
REASON = "exact_duplicate"
KEY_COLUMNS = ["doc_id", "text_sha256", "source", "locator", "url", "input_path", "raw_sha256", "fetch_time", "license"]


def source_ranks(sources: pa.ChunkedArray | pa.Array, source_rank: dict[str, int]) -> pa.Array:
    """Each row's source priority (spec input order; unknown sources last)."""
    ordered = pa.array(sorted(source_rank, key=source_rank.get), pa.string())
    ranks = pa.array([source_rank[s] for s in ordered.to_pylist()], pa.int64())
    idx = pc.index_in(sources, value_set=ordered)
    return pc.fill_null(pc.take(ranks, idx), len(source_rank)) if len(ordered) else pa.array([0] * len(sources), pa.int64())


def exact_duplicates(table: pa.Table, source_rank: dict[str, int] | None = None) -> pa.Table:
    """REJECT_SCHEMA rows for every exact duplicate in ``table`` (KEY_COLUMNS, any number of hash groups).

    The member of a group that is kept: earliest spec input (source priority), then the smallest
    locator, then doc_id. The texts are identical, so the choice decides which source and locator
    the shard cites; it never depends on arrival order, so it is the same across runs and worker counts.
    """
    if table.num_rows < 2:
        return REJECT_SCHEMA.empty_table()
    for name in KEY_COLUMNS:  # the provenance columns are optional: a missing one is null
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
    t = table.select(KEY_COLUMNS).append_column("_rank", source_ranks(table.column("source"), source_rank or {}))
    t = t.sort_by([("text_sha256", "ascending"), ("_rank", "ascending"), ("locator", "ascending"), ("doc_id", "ascending")])
    sha = t.column("text_sha256").combine_chunks()
    first = np.ones(t.num_rows, dtype=bool)
    first[1:] = pc.not_equal(sha.slice(1), sha.slice(0, len(sha) - 1)).to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(first)
    group = np.cumsum(first) - 1
    dup = np.flatnonzero(~first)
    if not len(dup):
        return REJECT_SCHEMA.empty_table()
    rows = t.take(pa.array(dup))
    keep_of = pa.array(starts[group[dup]])
    n = len(dup)
    out = {
        "doc_id": rows.column("doc_id"), "source": rows.column("source"), "locator": rows.column("locator"),
        "url": rows.column("url"), "input_path": rows.column("input_path"),
        "stage": pa.array([STAGE] * n), "reason": pa.array([REASON] * n), "rule": pa.nulls(n, pa.string()),
        "value": pa.nulls(n, pa.float64()), "threshold": pa.nulls(n, pa.float64()),
        "detail": pa.array(["identical normalised text"] * n), "duplicate_of": pc.take(t.column("doc_id"), keep_of),
        "raw_sha256": rows.column("raw_sha256"), "fetch_time": rows.column("fetch_time"), "license": rows.column("license"),
    }
    return pa.table(out).cast(REJECT_SCHEMA).sort_by("doc_id")
