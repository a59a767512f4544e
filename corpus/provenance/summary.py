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


def _as_int(t: pa.Table, name: str) -> pa.Array:
    """A boolean column as 0/1 integers (missing column or null: 0)."""
    if name not in t.column_names:
        return pa.array([0] * t.num_rows, pa.int64())
    return pc.fill_null(pc.cast(t.column(name), pa.int64()), 0)


def _licence_figures(t: pa.Table, by_license: dict[str, Counter], flags: dict[str, Counter]) -> int:
    """Add a batch's rows, tokens and flag counts per licence; returns its flagged conflicts."""
    lic = pc.fill_null(t.column("license"), "NOASSERTION") if "license" in t.column_names else pa.array(["NOASSERTION"] * t.num_rows)
    tokens = pc.fill_null(t.column("n_tokens"), 0)
    cols = {"license": lic, "tokens": tokens, **{f: _as_int(t, f) for f in FLAGS}}
    g = pa.table(cols).group_by("license", use_threads=False).aggregate(
        [("tokens", "count"), ("tokens", "sum"), *((f, "sum") for f in FLAGS)]
    )
    for row in g.to_pylist():
        entry = by_license[row["license"]]
        entry["docs"] += row["tokens_count"]
        entry["tokens"] += row["tokens_sum"] or 0
        for f in FLAGS:
            entry[f] += row[f"{f}_sum"] or 0
    for f in FLAGS:
        mask = pc.equal(_as_int(t, f), 1)
        flags[f]["docs"] += int(pc.sum(pc.cast(mask, pa.int64())).as_py() or 0)
        flags[f]["tokens"] += int(pc.sum(pc.if_else(mask, tokens, 0)).as_py() or 0)
    return int(pc.sum(_as_int(t, "license_conflict")).as_py() or 0)


def _source_figures(t: pa.Table, per_source: dict[str, dict[str, Any]]) -> None:
    """Add a batch's rows, documents (first copies), tokens and licences per source."""
    src = pc.fill_null(t.column("source"), "unknown") if "source" in t.column_names else pa.array(["unknown"] * t.num_rows)
    first = pc.cast(pc.equal(t.column("copy"), 0), pa.int64()) if "copy" in t.column_names else pa.array([1] * t.num_rows, pa.int64())
    lic = pc.fill_null(t.column("license"), "NOASSERTION") if "license" in t.column_names else pa.array(["NOASSERTION"] * t.num_rows)
    g = pa.table({"source": src, "first": first, "tokens": pc.fill_null(t.column("n_tokens"), 0), "license": lic}).group_by(
        "source", use_threads=False
    ).aggregate([("first", "count"), ("first", "sum"), ("tokens", "sum"), ("license", "distinct")])
    for row in g.to_pylist():
        entry = per_source.setdefault(row["source"], {"rows": 0, "docs": 0, "tokens": 0, "licenses": set()})
        entry["rows"] += row["first_count"]
        entry["docs"] += row["first_sum"] or 0
        entry["tokens"] += row["tokens_sum"] or 0
        entry["licenses"].update(row["license_distinct"])


def _attribution_groups(first: pa.Table, attribution: dict[tuple[str, str], set[str]], docs: Counter) -> None:
    """Add a batch's distinct attribution lines and documents per (source, licence)."""
    n = first.num_rows
    col = lambda name: pc.fill_null(first.column(name), "") if name in first.column_names else pa.array([""] * n)  # noqa: E731
    g = pa.table({"source": col("source"), "license": col("license"), "attribution": col("attribution")}).group_by(
        ["source", "license"], use_threads=False
    ).aggregate([("attribution", "count"), ("attribution", "distinct")])
    for row in g.to_pylist():
        key = (row["source"], row["license"])
        docs[key] += row["attribution_count"]
        attribution[key].update(a for a in row["attribution_distinct"] if a)


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
            conflicts += _licence_figures(t, by_license, flags)
            _source_figures(t, per_source)
            _attribution_groups(first, attribution, group_docs)
            if SPANS_COLUMN in first.column_names:
                spans = first.filter(pc.is_valid(first.column(SPANS_COLUMN)))
                cut.extend({SPANS_COLUMN: v} for v in spans.column(SPANS_COLUMN).to_pylist())
            for c in first.column_names:
                if c.startswith("pii_") or c == BOILERPLATE_COLUMN:
                    cleaning[c] += int(pc.sum(first.column(c)).as_py() or 0)
            for c in lengths:
                if c in first.column_names:
                    lengths[c].append(first.column(c).to_numpy(zero_copy_only=False))
            if NEAR_DUP_COLUMN in first.column_names:
                for vc in pc.value_counts(first.column(NEAR_DUP_COLUMN)).to_pylist():
                    if vc["values"]:
                        near_sizes[vc["values"]] += vc["counts"]
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
