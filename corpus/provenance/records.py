"""Per-document provenance records: one row per document that entered the run, kept or dropped.

``provenance/documents-NNNNN.parquet`` (bucketed by the first hex digits of doc_id so no single
process holds the lineage of a whole large corpus; one bucket below ``DOCS_PER_BUCKET``
documents) has: where the document came from, its licence and evidence, each stage's decision
with its scores, and where it ended (shard + row, or rejected file + stage + reason). It is
derived only from the shards and rejected files, so ``corpus audit`` can rebuild and compare it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from corpus.io import storage
from corpus.io.hashing import file_sha256

PROVENANCE_DIR = "provenance"
DOCS_PER_BUCKET = 250_000
_BATCH = 8192

PROVENANCE_SCHEMA = pa.schema([
    pa.field("doc_id", pa.string(), nullable=False),
    pa.field("status", pa.string(), nullable=False),
    pa.field("source", pa.string()),
    pa.field("locator", pa.string(), nullable=False),
    pa.field("url", pa.string()),
    pa.field("input_path", pa.string()),
    pa.field("fetch_time", pa.string()),
    pa.field("raw_sha256", pa.string()),
    pa.field("text_sha256", pa.string()),
    pa.field("license", pa.string()),
    pa.field("legal_basis", pa.string()),
    pa.field("license_evidence", pa.string()),
    pa.field("license_conflict", pa.bool_()),
    pa.field("train_ok", pa.bool_()),
    pa.field("redistribute_ok", pa.bool_()),
    pa.field("commercial_ok", pa.bool_()),
    pa.field("attribution", pa.string()),
    pa.field("n_tokens", pa.int64()),
    pa.field("stages", pa.string(), nullable=False),
    pa.field("shard", pa.string()),
    pa.field("row", pa.int64()),
    pa.field("rejected_file", pa.string()),
    pa.field("drop_stage", pa.string()),
    pa.field("drop_reason", pa.string()),
    pa.field("duplicate_of", pa.string()),
])

#: What each stage contributes to a kept document's lineage (scores are data, shown per stage).
STAGE_FACTS = {
    "read": ["locator", "raw_sha256", "fetch_time"],
    "license": ["license", "legal_basis", "train_ok", "redistribute_ok", "commercial_ok", "license_conflict"],
    "extract": ["charset", "charset_evidence", "title"],
    "normalize": ["n_chars", "text_sha256"],
    "decontaminate": ["decontam_removed"],
    "tokens": ["n_tokens"],
}


def bucket_count(documents: int) -> int:
    """1, 16, 256... buckets: the fewest powers of 16 keeping each under DOCS_PER_BUCKET documents."""
    if documents <= DOCS_PER_BUCKET:
        return 1
    return 16 ** math.ceil(math.log(documents / DOCS_PER_BUCKET, 16))


def bucket_file(bucket: int) -> str:
    return f"{PROVENANCE_DIR}/documents-{bucket:05d}.parquet"


def bucket_of(doc_id: str, buckets: int) -> int:
    """The bucket of a doc id: its first log16(buckets) hex digits."""
    digits = round(math.log(buckets, 16)) if buckets > 1 else 0
    return int(doc_id[:digits], 16) if digits else 0


def _in_bucket(table: pa.Table, bucket: int, buckets: int) -> pa.Table:
    if buckets == 1:
        return table
    digits = round(math.log(buckets, 16))
    prefix = format(bucket, f"0{digits}x")
    return table.filter(pc.equal(pc.utf8_slice_codeunits(table.column("doc_id"), 0, digits), prefix))


def _batches(location: str, columns: list[str] | None = None) -> Iterator[tuple[int, pa.Table]]:
    """(row offset, table) batches of a Parquet file."""
    offset = 0
    for batch in storage.parquet_file(location).iter_batches(batch_size=_BATCH, columns=columns):
        t = pa.Table.from_batches([batch])
        yield offset, t
        offset += t.num_rows


def non_text_columns(location: str) -> list[str]:
    return [n for n in storage.read_schema(location).names if n not in ("text", "input_ids")]


def kept_lineage(row: dict[str, Any], stages: list[str]) -> list[dict[str, Any]]:
    out = []
    for name in stages:
        facts = {k: row.get(k) for k in STAGE_FACTS.get(name, []) if k in row}
        if name == "quality":
            facts = {k: row[k] for k in sorted(row) if k.startswith("q_")}
        out.append({"stage": name, "decision": "kept", **({"scores": facts} if facts else {})})
    return out


def rejected_lineage(row: dict[str, Any], stages: list[str]) -> list[dict[str, Any]]:
    out = []
    for name in stages:
        if name == row["stage"]:
            out.append({"stage": name, "decision": "rejected", **{k: row.get(k) for k in ("reason", "rule", "value", "threshold", "detail", "duplicate_of") if row.get(k) is not None}})
            break
        out.append({"stage": name, "decision": "kept"})
    return out


def _evidence_of_rejection(row: dict[str, Any]) -> str | None:
    """Licence rejections carry their evidence JSON in ``detail`` (after ``<licence>: `` for conflicts)."""
    if row["stage"] != "license" or not row.get("detail"):
        return None
    detail = row["detail"]
    return detail[detail.index("[") :] if "[" in detail else detail


def _kept_part(t: pa.Table, shard: str, stages_json: str) -> pa.Table:
    """Provenance rows of kept shard rows (first copies only), column by column."""
    if "copy" in t.column_names:
        t = t.filter(pc.equal(t.column("copy"), 0))
    n = t.num_rows
    cols = {}
    for f in PROVENANCE_SCHEMA:
        if f.name in t.column_names:
            cols[f.name] = t.column(f.name).cast(f.type)
        else:
            cols[f.name] = pa.nulls(n, f.type)
    cols["status"] = pa.array(["kept"] * n, pa.string())
    cols["stages"] = pa.array([stages_json] * n, pa.string())
    cols["shard"] = pa.array([shard] * n, pa.string())
    cols["row"] = t.column("_row")
    return pa.table(cols, schema=PROVENANCE_SCHEMA)


def _rejected_part(t: pa.Table, path: str, stages: list[str]) -> pa.Table:
    rows = t.to_pylist()
    out = {f.name: [] for f in PROVENANCE_SCHEMA}
    direct = ("doc_id", "source", "locator", "url", "input_path", "fetch_time", "raw_sha256", "license", "duplicate_of")
    for r in rows:
        for k in direct:
            out[k].append(r.get(k))
        out["status"].append("rejected")
        out["license_evidence"].append(_evidence_of_rejection(r))
        out["stages"].append(json.dumps(rejected_lineage(r, stages), ensure_ascii=False, sort_keys=True))
        out["rejected_file"].append(path)
        out["drop_stage"].append(r["stage"])
        out["drop_reason"].append(r["reason"])
    n = len(rows)
    return pa.table({f.name: (pa.array(out[f.name], f.type) if out[f.name] or f.name in direct else pa.nulls(n, f.type)) for f in PROVENANCE_SCHEMA},
                    schema=PROVENANCE_SCHEMA)


def build_bucket(output: str, manifest: dict[str, Any], bucket: int = 0, buckets: int = 1) -> pa.Table:
    """The provenance rows of one bucket, sorted by (doc_id, status): deterministic for the same output.

    A kept document's ``stages`` lists the stages it passed; its scores are the ``q_*`` and other
    columns of its shard row, which ``corpus inspect`` reads back (they are not copied here: the
    shard is the record). Shard rows with ``copy > 0`` (extra copies from mixing) are the same
    document again and get no record of their own; the record points at the first copy.
    """
    stages = [s["name"] for s in manifest["stages"]]
    kept_json = json.dumps([{"decision": "kept", "stage": n} for n in stages], ensure_ascii=False, sort_keys=True)
    parts: list[pa.Table] = [PROVENANCE_SCHEMA.empty_table()]
    for entry in manifest["shards"]:
        location = storage.join(output, entry["path"])
        columns = [c for c in non_text_columns(location) if c in PROVENANCE_SCHEMA.names or c in ("copy",)]
        for offset, t in _batches(location, columns):
            t = t.append_column("_row", pa.array(range(offset, offset + t.num_rows), pa.int64()))
            parts.append(_kept_part(_in_bucket(t, bucket, buckets), entry["path"], kept_json))
    for entry in manifest["rejected_files"]:
        for _, t in _batches(storage.join(output, entry["path"])):
            parts.append(_rejected_part(_in_bucket(t, bucket, buckets), entry["path"], stages))
    return pa.concat_tables(parts).sort_by([("doc_id", "ascending"), ("status", "ascending")])


def write_bucket(output: str, manifest: dict[str, Any], bucket: int, buckets: int) -> dict[str, Any]:
    """Write one provenance bucket file; its manifest entry."""
    table = build_bucket(output, manifest, bucket, buckets)
    path = bucket_file(bucket)
    location = storage.join(output, path)
    storage.write_table(table, location)
    return {"path": path, "sha256": file_sha256(location), "rows": table.num_rows}
