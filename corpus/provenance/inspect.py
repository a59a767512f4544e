"""`corpus inspect DIR DOC_ID`: one document's whole lineage, from provenance/documents.parquet.

Source and locator, fetch time and raw sha256, licence with every piece of evidence, each stage's
decision with its scores, and where it ended: shard and row (read back to confirm), or the stage
and reason that dropped it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpus.provenance.records import PROVENANCE_FILE


class NotFound(LookupError):
    """No document with that id (or id prefix) in the output."""


def lineage(out: Path, doc_id: str) -> dict[str, Any]:
    """The provenance record of ``doc_id`` (a unique prefix is enough), with JSON fields parsed."""
    table = pq.read_table(out / PROVENANCE_FILE)
    hits = table.filter(pc.starts_with(table.column("doc_id"), doc_id)).to_pylist()
    if not hits:
        raise NotFound(f"no document {doc_id!r} in {out / PROVENANCE_FILE}")
    if len(hits) > 1:
        raise NotFound(f"{doc_id!r} matches {len(hits)} documents; give more of the id")
    rec = hits[0]
    rec["stages"] = json.loads(rec["stages"])
    if rec.get("license_evidence"):
        try:
            rec["license_evidence"] = json.loads(rec["license_evidence"])
        except json.JSONDecodeError:
            pass
    if rec["status"] == "kept":
        row = pq.read_table(out / rec["shard"], columns=["doc_id", "n_tokens"]).slice(rec["row"], 1).to_pylist()
        rec["shard_row_verified"] = bool(row) and row[0]["doc_id"] == rec["doc_id"]
    return rec


def format_lineage(rec: dict[str, Any]) -> str:
    L = [f"document {rec['doc_id']}: {rec['status'].upper()}",
         f"  source      {rec['source']}",
         f"  locator     {rec['locator']}",
         f"  url         {rec.get('url')}",
         f"  fetch time  {rec.get('fetch_time')}",
         f"  raw sha256  {rec.get('raw_sha256')}",
         f"  licence     {rec.get('license')}  (basis {rec.get('legal_basis')}, train_ok {rec.get('train_ok')}, "
         f"redistribute_ok {rec.get('redistribute_ok')}, commercial_ok {rec.get('commercial_ok')}, conflict {rec.get('license_conflict')})"]
    if rec.get("attribution"):
        L.append(f"  attribution {rec['attribution']}")
    ev = rec.get("license_evidence")
    if isinstance(ev, list):
        L.append("  licence evidence:")
        for e in ev:
            mark = "*" if e.get("decisive") else "-"
            L.append(f"    {mark} {e.get('rule')} [{e.get('method')}, {e.get('location', '')}] {e.get('license')} "
                     f"{(e.get('snippet') or e.get('terms_url') or '')[:120]}")
    elif ev:
        L.append(f"  licence evidence: {ev[:300]}")
    L.append("  stages:")
    for s in rec["stages"]:
        extra = {k: v for k, v in s.items() if k not in ("stage", "decision")}
        L.append(f"    {s['stage']:<12} {s['decision']:<9} {json.dumps(extra, ensure_ascii=False)[:300] if extra else ''}".rstrip())
    if rec["status"] == "kept":
        L.append(f"  ended in    {rec['shard']} row {rec['row']} (verified: {rec.get('shard_row_verified')})")
    else:
        dup = f", duplicate of {rec['duplicate_of']}" if rec.get("duplicate_of") else ""
        L.append(f"  dropped at  {rec['drop_stage']}: {rec['drop_reason']}{dup} (record in {rec['rejected_file']})")
    return "\n".join(L)
