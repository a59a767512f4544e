"""Run-wide figures computed by streaming over the shards and rejected files in batches.

Licence summary, attribution groups, text-cleaning totals and the report's plots all come from
one pass (``summarize``) that holds aggregates, never the corpus: it runs as a worker task at the
end of a run and again, the same code, in ``corpus audit`` to check what the manifest says.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpus.filters.decontaminate import SPANS_COLUMN, STAGE as DECONTAMINATE, removal_counts
from corpus.filters.pii import PII_TYPES
from corpus.io import storage
from corpus.provenance.attribution import MAX_LINES_PER_GROUP

FLAGS = ("train_ok", "redistribute_ok", "commercial_ok")
BOILERPLATE_COLUMN = "boilerplate_lines"
NEAR_DUP_COLUMN = "dup_cluster_size"
HIST_BINS = 30
_BATCH = 16384
_SHARD_COLUMNS = ["doc_id", "source", "license", "attribution", "n_tokens", "n_chars", "copy", "license_conflict", NEAR_DUP_COLUMN,
                  BOILERPLATE_COLUMN, SPANS_COLUMN, *FLAGS, *(f"pii_{t}" for t in PII_TYPES)]


def _histogram(values: list[np.ndarray]) -> dict[str, list]:
    """Counts over ``HIST_BINS`` log-spaced bins of the positive values (as the report plots them)."""
    data = np.concatenate(values).astype(float) if values else np.zeros(0)
    data = data[data > 0]
    if not data.size:
        return {"edges": [], "counts": []}
    edges = np.logspace(np.log10(data.min()), np.log10(data.max() + 1), HIST_BINS)
    counts, _ = np.histogram(data, bins=edges)
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


def _group_sum(t: pa.Table, column: str, into: Counter) -> None:
    if column not in t.column_names or not t.num_rows:
        return
    g = t.group_by(column, use_threads=False).aggregate([("n_tokens", "sum")])
    for k, v in zip(g.column(column).to_pylist(), g.column("n_tokens_sum").to_pylist()):
        into[str(k)] += v or 0


def summarize(output: str, shards: list[dict[str, Any]], rejected_files: list[dict[str, Any]]) -> dict[str, Any]:
    """Every run-wide figure the manifest, ATTRIBUTION.md and report.html need, in one streaming pass.

    Licence figures count shard rows (copies from mixing included: they are trained on); cleaning
    totals, lengths and cluster sizes count documents (first copies only).
    """
    by_license: dict[str, Counter] = defaultdict(Counter)
    flags = {f: Counter() for f in FLAGS}
    conflicts = 0
    attribution: dict[tuple[str, str], set[str]] = defaultdict(set)
    group_docs: Counter = Counter()
    cleaning: Counter = Counter()
    tokens_by_source: Counter = Counter()
    tokens_by_license: Counter = Counter()
    lengths: dict[str, list[np.ndarray]] = {"n_tokens": [], "n_chars": []}
    near_sizes: Counter = Counter()
    has_near = False
    per_source: dict[str, dict[str, Any]] = {}
    cut: list[dict[str, Any]] = []  # decontamination: kept documents with a span removed (few)
    for entry in shards:
        location = storage.join(output, entry["path"])
        names = storage.read_schema(location).names
        cols = [c for c in _SHARD_COLUMNS if c in names]
        has_near = has_near or NEAR_DUP_COLUMN in names
        for batch in storage.parquet_file(location).iter_batches(batch_size=_BATCH, columns=cols):
            t = pa.Table.from_batches([batch])
            _group_sum(t, "source", tokens_by_source)
            _group_sum(t, "license", tokens_by_license)
            first = t.filter(pc.equal(t.column("copy"), 0)) if "copy" in t.column_names else t
            for r in t.select([c for c in ("source", "license", "n_tokens", "copy") if c in t.column_names]).to_pylist():
                src = per_source.setdefault(r.get("source") or "unknown", {"rows": 0, "docs": 0, "tokens": 0, "licenses": set()})
                src["rows"] += 1
                src["docs"] += not r.get("copy")
                src["tokens"] += r.get("n_tokens") or 0
                src["licenses"].add(r.get("license") or "NOASSERTION")
            if SPANS_COLUMN in first.column_names:
                spans = first.filter(pc.is_valid(first.column(SPANS_COLUMN)))
                cut.extend({SPANS_COLUMN: v} for v in spans.column(SPANS_COLUMN).to_pylist())
            for r in t.select([c for c in ("license", "n_tokens", "license_conflict", *FLAGS) if c in t.column_names]).to_pylist():
                entry_l = by_license[r.get("license") or "NOASSERTION"]
                entry_l["docs"] += 1
                entry_l["tokens"] += r.get("n_tokens") or 0
                for f in FLAGS:
                    if r.get(f):
                        flags[f]["docs"] += 1
                        flags[f]["tokens"] += r.get("n_tokens") or 0
                        entry_l[f] += 1
                    else:
                        entry_l[f] += 0
                conflicts += bool(r.get("license_conflict"))
            for r in first.select([c for c in ("source", "license", "attribution") if c in first.column_names]).to_pylist():
                key = (r.get("source") or "", r.get("license") or "")
                group_docs[key] += 1
                if r.get("attribution"):
                    attribution[key].add(r["attribution"])
                else:
                    attribution.setdefault(key, set())
            for c in first.column_names:
                if c.startswith("pii_") or c == BOILERPLATE_COLUMN:
                    cleaning[c] += int(pc.sum(first.column(c)).as_py() or 0)
            for c in lengths:
                if c in first.column_names:
                    lengths[c].append(first.column(c).to_numpy(zero_copy_only=False))
            if NEAR_DUP_COLUMN in first.column_names:
                near_sizes.update(v for v in first.column(NEAR_DUP_COLUMN).to_pylist() if v)
    exact_sizes: Counter = Counter()
    decontaminated: list[dict[str, Any]] = []
    for entry in rejected_files:
        location = storage.join(output, entry["path"])
        if "duplicate_of" not in storage.read_schema(location).names:
            continue
        t = storage.read_table(location, columns=["stage", "duplicate_of", "detail"])
        exact = t.filter(pc.equal(t.column("stage"), "dedup_exact"))
        exact_sizes.update(Counter(exact.column("duplicate_of").to_pylist()).values())
        found = t.filter(pc.equal(t.column("stage"), DECONTAMINATE))
        decontaminated.extend({"stage": DECONTAMINATE, "detail": d} for d in found.column("detail").to_pylist())
    return {
        "licenses": {
            "by_license": {k: dict(sorted(v.items())) for k, v in sorted(by_license.items())},
            **{f: {"docs": flags[f]["docs"], "tokens": flags[f]["tokens"]} for f in FLAGS},
            "conflicts_flagged": conflicts,
        },
        "attribution": [
            {"source": s, "license": lic, "docs": group_docs[(s, lic)], "lines": sorted(attribution[(s, lic)])[:MAX_LINES_PER_GROUP],
             "n_lines": len(attribution[(s, lic)])}
            for s, lic in sorted(attribution)
        ],
        "cleaning": dict(sorted(cleaning.items())),
        "per_source": {k: {**v, "licenses": sorted(v["licenses"])} for k, v in sorted(per_source.items())},
        "decontamination": removal_counts(decontaminated, cut),
        "report": {
            "tokens_by_source": dict(tokens_by_source.most_common()),
            "tokens_by_license": dict(tokens_by_license.most_common()),
            "n_tokens_histogram": _histogram(lengths["n_tokens"]),
            "n_chars_histogram": _histogram(lengths["n_chars"]),
            "exact_cluster_sizes": {str(k + 1): v for k, v in sorted(exact_sizes.items())},
            "near_cluster_sizes": {str(k): v for k, v in sorted(near_sizes.items())} if has_near else None,
        },
    }


def cleaning_totals(cleaning: dict[str, int], pii_types: list[str] | None, boilerplate: bool) -> dict[str, Any]:
    """The manifest's ``pii`` and ``boilerplate_lines_removed`` for the enabled steps (zeros included)."""
    out: dict[str, Any] = {}
    if pii_types is not None:
        out["pii"] = {t: cleaning.get(f"pii_{t}", 0) for t in PII_TYPES if t in pii_types}
    if boilerplate:
        out["boilerplate_lines_removed"] = cleaning.get(BOILERPLATE_COLUMN, 0)
    return out
