"""``corpus stats DIR``: what a finished run holds, for a quick look without opening report.html.

Documents and tokens by source, licence, document type (filings), year and split, computed by
streaming a few columns of the shards in batches: the text column is never read, so a look at a
terabyte corpus on an object store costs the bytes of those columns. ``DIR`` is a local directory
or a URI (``s3://bucket/run``) through corpus.io.storage.

Documents count each document once (the first copy, when mixing up-sampled a source); tokens count
every row of the shards, copies included: what a training run will see. The year of a document is
its filing period's end year when it has one (``period``), else the year it was fetched
(``fetch_time``), else ``unknown``.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from corpus.io import storage

#: The columns read (never the text); those missing from a shard are treated as null.
COLUMNS = ("source", "license", "doc_type", "period", "fetch_time", "n_tokens", "copy", "redistribute_ok")
GROUPS = ("source", "license", "doc_type", "year", "split")
_BATCH = 65536


def shard_locations(run: str) -> list[str]:
    """The run's shards: those its manifest lists, else every ``shards/*.parquet`` found."""
    manifest = storage.join(run, "manifest.json")
    if storage.exists(manifest):
        entries = json.loads(storage.read_text(manifest)).get("shards", [])
        return [storage.join(run, e["path"]) for e in entries]
    listing = storage.walk(storage.join(run, "shards"))
    return [loc for loc, _ in listing.files if loc.endswith(".parquet")]


def _year(t: pa.Table) -> pa.Array:
    """Period end year, else fetch year, else 'unknown' (vectorised over a batch)."""
    period = t.column("period")
    end = pc.if_else(pc.match_substring(period, "/"), pc.utf8_slice_codeunits(period, 11, 15), pc.utf8_slice_codeunits(period, 0, 4))
    fetched = pc.utf8_slice_codeunits(t.column("fetch_time"), 0, 4)
    return pc.fill_null(pc.coalesce(end, fetched), "unknown")


def _batch_table(batch: pa.RecordBatch, split: str) -> pa.Table:
    t = pa.Table.from_batches([batch])
    n = t.num_rows
    for name in COLUMNS:
        if name not in t.column_names:
            default = pa.array([0] * n, pa.int64()) if name == "copy" else pa.nulls(n, pa.bool_() if name == "redistribute_ok" else pa.string())
            t = t.append_column(name, default)
    t = t.append_column("year", _year(t)).append_column("split", pa.array([split] * n, pa.string()))
    first = pc.cast(pc.equal(t.column("copy"), 0), pa.int64())
    train_only = pc.cast(pc.and_(pc.equal(t.column("copy"), 0), pc.invert(pc.fill_null(t.column("redistribute_ok"), False))), pa.int64())
    return t.append_column("first", first).append_column("train_only", train_only)


def run_stats(run: str) -> dict[str, Any]:
    """Totals and per-group documents and tokens of a run's shards, plus the manifest's read and
    rejection totals when there is a manifest."""
    groups: dict[str, dict[str, Counter]] = {g: defaultdict(Counter) for g in GROUPS}
    totals: Counter = Counter()
    shards = shard_locations(run)
    for location in shards:
        split = storage.basename(location).split("-", 1)[0]
        names = storage.read_schema(location).names
        cols = [c for c in COLUMNS if c in names]
        for batch in storage.parquet_file(location).iter_batches(batch_size=_BATCH, columns=cols):
            t = _batch_table(batch, split)
            totals["documents"] += pc.sum(t.column("first")).as_py() or 0
            totals["tokens"] += pc.sum(t.column("n_tokens")).as_py() or 0
            totals["train_only_documents"] += pc.sum(t.column("train_only")).as_py() or 0
            for g in GROUPS:
                agg = t.group_by(g, use_threads=False).aggregate([("first", "sum"), ("n_tokens", "sum")])
                for key, docs, tokens in zip(agg.column(g).to_pylist(), agg.column("first_sum").to_pylist(), agg.column("n_tokens_sum").to_pylist()):
                    entry = groups[g]["(none)" if key is None else str(key)]
                    entry["documents"] += docs or 0
                    entry["tokens"] += tokens or 0
    out: dict[str, Any] = {"run": run, "shards": len(shards), **totals}
    for g in GROUPS:
        ordered = sorted(groups[g].items(), key=lambda kv: (-kv[1]["tokens"], kv[0]))
        out[f"by_{g}"] = {k: dict(v) for k, v in ordered}
    manifest = storage.join(run, "manifest.json")
    if storage.exists(manifest):
        t = json.loads(storage.read_text(manifest)).get("totals", {})
        out["manifest"] = {k: t[k] for k in ("documents_in", "kept", "rejected", "rejected_by_stage", "accounting_ok") if k in t}
    return out


def format_stats(stats: dict[str, Any]) -> str:
    """A plain-text view: totals, then one table per grouping (documents, tokens, share of tokens)."""
    lines = [f"{stats['run']}: {stats.get('documents', 0):,} documents, {stats.get('tokens', 0):,} tokens in {stats['shards']} shard(s); "
             f"{stats.get('train_only_documents', 0):,} documents are train-only (not redistributable)"]
    if "manifest" in stats:
        m = stats["manifest"]
        lines.append(f"read {m.get('documents_in', 0):,}, kept {m.get('kept', 0):,}, rejected {m.get('rejected', 0):,} "
                     f"{json.dumps(m.get('rejected_by_stage', {}), ensure_ascii=False)}")
    total = max(1, stats.get("tokens", 0))
    titles = {"source": "source", "license": "licence", "doc_type": "document type", "year": "year", "split": "split"}
    for g in GROUPS:
        rows = stats[f"by_{g}"]
        if g == "doc_type" and set(rows) <= {"(none)"}:
            continue  # no filings in this run
        width = max([len(titles[g])] + [len(k) for k in rows])
        lines += ["", f"{titles[g]:<{width}}  {'documents':>10}  {'tokens':>14}  {'share':>6}"]
        for key, v in rows.items():
            lines.append(f"{key:<{width}}  {v.get('documents', 0):>10,}  {v.get('tokens', 0):>14,}  {v.get('tokens', 0) / total:>6.1%}")
    return "\n".join(lines)
