"""Token-budgeted Parquet shards, written the same way every time.

Shard contents are decided before any shard is written (``plan_shards``), from doc_id order and
token counts only, so the same kept set always gives the same files whatever the worker count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.document import SCHEMA_VERSION
from corpus.provenance.hashing import file_sha256

#: Leading shard columns, in this order; per-document data columns (q_*, pii_*, boilerplate_*) follow, sorted.
SHARD_COLUMNS = [
    "doc_id", "text", "n_tokens", "n_chars", "source", "license", "url", "locator", "title",
    "fetch_time", "raw_sha256", "text_sha256", "charset", "charset_evidence",
    "warc_record_id", "payload_digest", "dup_cluster_size",
    "license_evidence", "legal_basis", "train_ok", "redistribute_ok", "commercial_ok", "license_conflict", "attribution",
]


@dataclass(frozen=True)
class ShardPlan:
    index: int
    doc_ids: tuple[str, ...]
    tokens: int

    @property
    def filename(self) -> str:
        return f"shard-{self.index:05d}.parquet"


def plan_shards(doc_ids: list[str], n_tokens: list[int], target_tokens: int) -> list[ShardPlan]:
    """Cut the doc_id-sorted documents into shards of about ``target_tokens`` each.

    A shard closes before the document that would take it past the target, except that a shard
    always holds at least one document (a single huge document is a shard of its own).
    """
    order = sorted(range(len(doc_ids)), key=doc_ids.__getitem__)
    plans: list[ShardPlan] = []
    current: list[str] = []
    tokens = 0
    for i in order:
        if current and tokens + n_tokens[i] > target_tokens:
            plans.append(ShardPlan(len(plans), tuple(current), tokens))
            current, tokens = [], 0
        current.append(doc_ids[i])
        tokens += n_tokens[i]
    if current:
        plans.append(ShardPlan(len(plans), tuple(current), tokens))
    return plans


def shard_columns(schema: pa.Schema) -> list[str]:
    scores = sorted(n for n in schema.names if n.startswith(("q_", "pii_", "boilerplate_")))
    return [c for c in SHARD_COLUMNS if c in schema.names] + scores


def write_shard(table: pa.Table, path: Path, row_group_size: int = 1024) -> dict:
    """Write one shard (zstd, fixed settings) and return its manifest entry."""
    table = table.select(shard_columns(table.schema))
    table = table.replace_schema_metadata({"corpus.schema_version": SCHEMA_VERSION})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp, compression="zstd", row_group_size=row_group_size, write_statistics=True)
    tmp.replace(path)
    return {
        "path": f"{path.parent.name}/{path.name}",
        "sha256": file_sha256(path),
        "bytes": path.stat().st_size,
        "docs": table.num_rows,
        "tokens": int(sum(table.column("n_tokens").to_pylist())),
    }
