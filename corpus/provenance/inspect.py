"""`corpus inspect DIR DOC_ID`: one document's whole lineage, from the provenance records.

Source and locator, fetch time and raw sha256, licence with every piece of evidence, each stage's
decision with its scores, and where it ended: shard and row (read back to confirm), or the stage
and reason that dropped it. With ``--source`` the exact input bytes behind the locator are
reopened through its reader (corpus.sources.registry) and checked against the recorded raw sha256.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pyarrow.compute as pc

from corpus.io import storage
from corpus.provenance.manifest import read_manifest
from corpus.provenance.records import bucket_of, kept_lineage


class NotFound(LookupError):
    """No document with that id (or id prefix) in the output."""


def lineage(out: str, doc_id: str, reopen: bool = False) -> dict[str, Any]:
    """The provenance record of ``doc_id`` (a unique prefix is enough), with JSON fields parsed."""
    out = storage.normalize(str(out))
    m = read_manifest(out)
    docs = m["provenance"]["documents"]
    buckets = docs["buckets"]
    digits = len(format(buckets - 1, "x")) if buckets > 1 else 0
    if len(doc_id) < digits:
        raise NotFound(f"give at least {digits} characters of the doc id")
    entry = docs["files"][bucket_of(doc_id, buckets)]
    table = storage.read_table(storage.join(out, entry["path"]))
    hits = table.filter(pc.starts_with(table.column("doc_id"), doc_id)).to_pylist()
    if not hits:
        raise NotFound(f"no document {doc_id!r} in {out}")
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
        shard = storage.join(out, rec["shard"])
        columns = [c for c in storage.read_schema(shard).names if c not in ("text", "input_ids")]
        row = storage.read_table(shard, columns=columns).slice(rec["row"], 1).to_pylist()
        rec["shard_row_verified"] = bool(row) and row[0]["doc_id"] == rec["doc_id"]
        if rec["shard_row_verified"]:  # each stage's scores, from the shard row that holds them
            rec["stages"] = kept_lineage(row[0], [s["stage"] for s in rec["stages"]])
    if reopen:
        rec["source_bytes"] = reopen_source(m, rec)
    return rec


def reopen_source(m: dict[str, Any], rec: dict[str, Any]) -> dict[str, Any]:
    """Reopen the exact input bytes behind the record's locator and compare their sha256."""
    from corpus.sources.registry import open_locator

    column = next((i.get("text_column", "text") for i in m["pipeline"]["spec"]["inputs"]), "text")
    try:
        located = open_locator(rec["locator"], m["input_roots"], column)
    except Exception as exc:  # the input moved or is unreadable: say so, do not crash
        return {"reopened": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    digest = hashlib.sha256(located.payload).hexdigest()
    return {"reopened": True, "bytes": len(located.payload), "sha256": digest, "matches_raw_sha256": digest == rec.get("raw_sha256")}


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
    src = rec.get("source_bytes")
    if src:
        if src["reopened"]:
            L.append(f"  source      reopened {src['bytes']} bytes, sha256 {'matches' if src['matches_raw_sha256'] else 'DIFFERS from'} raw_sha256")
        else:
            L.append(f"  source      could not be reopened: {src['error']}")
    return "\n".join(L)
