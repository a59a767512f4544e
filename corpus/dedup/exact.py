"""Exact duplicates: documents whose normalised text hashes the same.

Works on one group of rows sharing a ``text_sha256`` at a time, so the Ray runner can hand it
the groups of a hash-partitioned shuffle and no process ever needs the whole corpus.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from corpus.document import rejects_from_rows
from corpus.stage import Rejection, reject_row

STAGE = "dedup_exact"
KEY_COLUMNS = ["doc_id", "text_sha256", "source", "locator", "url", "input_path"]


def representative_order(row: dict[str, Any], source_rank: dict[str, int]) -> tuple:
    """Which member of an exact-duplicate group is kept: source priority, then locator, then doc_id.

    Source priority is the order of the spec's inputs (list the primary source first). The texts
    are identical, so the choice decides which source and locator the shard cites; it never
    depends on arrival order, so it is the same across runs and worker counts.
    """
    return (source_rank.get(row["source"], len(source_rank)), row["locator"], row["doc_id"])


def duplicates_in_group(rows: list[dict[str, Any]], source_rank: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """Rejection rows for every member of one same-hash group but its representative."""
    if len(rows) < 2:
        return []
    rank = source_rank or {}
    ordered = sorted(rows, key=lambda r: representative_order(r, rank))
    keep = ordered[0]["doc_id"]
    why = Rejection("exact_duplicate", duplicate_of=keep, detail="identical normalised text")
    return [reject_row(r, STAGE, why) for r in ordered[1:]]


def exact_duplicates(table: pa.Table, source_rank: dict[str, int] | None = None) -> pa.Table:
    """Rejections for all exact duplicates in ``table`` (any number of hash groups)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in table.select(KEY_COLUMNS).to_pylist():
        groups.setdefault(row["text_sha256"], []).append(row)
    out: list[dict[str, Any]] = []
    for key in sorted(groups):
        out.extend(duplicates_in_group(groups[key], source_rank))
    return rejects_from_rows(out)
