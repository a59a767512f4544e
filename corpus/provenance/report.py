"""``report.html``: what the corpus is made of and what was thrown away, readable at a glance.

One static file beside the manifest. Plots are matplotlib figures inlined as SVG (glyphs drawn as
paths), styles are inline, there is no script: it opens offline in any browser and can be mailed
or archived with the run. Figures come from the manifest plus the run summary, computed by streaming
the run's own Parquet files (shards for lengths, sources and licences; rejected files for duplicate
clusters; corpus/provenance/summary.py), so the report never disagrees with the data. The SVG hash salt and date are fixed, so identical runs give identical
reports.
"""

from __future__ import annotations

import html
import io
from collections import Counter
from typing import Any

from corpus.io import storage

REPORT_NAME = "report.html"
#: Column a near-duplicate stage may add to kept documents: size of the cluster each one represents.
NEAR_DUP_COLUMN = "dup_cluster_size"
_BLUE, _RED, _GREEN = "#1f77b4", "#d62728", "#2ca02c"


def _svg(fig) -> str:
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "corpus-report", "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _figure(height: float = 3.0):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, height), dpi=96)
    return fig, fig.add_subplot()


def _barh(labels: list[str], values: list[float], title: str, xlabel: str, color: str = _BLUE) -> str:
    fig, ax = _figure(max(1.6, 0.32 * len(labels) + 1.0))
    pos = list(range(len(labels)))[::-1]
    bars = ax.barh(pos, values, color=color)
    ax.set_yticks(pos, labels)
    ax.bar_label(bars, labels=[f"{v:,}" for v in values], fontsize=8, padding=2)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.margins(x=0.18)
    return _svg(fig)


def _hist(hist: dict[str, list], title: str, xlabel: str, color: str = _BLUE) -> str:
    """A histogram precomputed by the run summary (log-spaced ``edges`` and their ``counts``)."""
    fig, ax = _figure()
    if hist["counts"]:
        edges = hist["edges"]
        ax.bar(edges[:-1], hist["counts"], width=[b - a for a, b in zip(edges[:-1], edges[1:])], align="edge", color=color, edgecolor="white")
        ax.set_xscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("documents")
    return _svg(fig)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(f'{c:,}' if isinstance(c, int) else str(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    thead = f"<thead><tr>{head}</tr></thead>" if any(headers) else ""
    return f"<table>{thead}<tbody>{body}</tbody></table>"


def _section(title: str, *parts: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>{''.join(parts)}</section>"


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def funnel_sections(manifest: dict) -> list[str]:
    stages = manifest.get("stages", [])
    out = []
    if stages:
        labels = [f"{stages[0]['name']} (in)"] + [s["name"] for s in stages]
        values = [stages[0]["in"]] + [s["out"] for s in stages]
        out.append(_barh(labels, values, "Documents remaining after each stage", "documents"))
    funnel = manifest.get("token_funnel") or []
    if funnel:
        out.append(_barh([f["stage"] for f in funnel], [f["tokens"] for f in funnel], "Tokens remaining after each stage", "tokens", _GREEN))
    reasons = Counter()
    for s in stages:
        for reason, n in s["rejected"].items():
            reasons[f"{s['name']}: {reason}"] += n
    body = [_barh(list(reasons), list(reasons.values()), "Rejections by stage and reason", "documents", _RED)] if reasons else [_note("Nothing was rejected.")]
    rows = [[s["name"], s["in"], s["out"], sum(s["rejected"].values())] for s in stages]
    return [
        _section("Funnel", *out, _table(["stage", "in", "out", "rejected"], rows)),
        _section("What was thrown away", *body),
    ]


def composition_sections(fig: dict[str, Any]) -> list[str]:
    if not fig["tokens_by_source"]:
        return [_section("Composition", _note("No documents were kept."))]
    parts = []
    for key, title in (("tokens_by_source", "Tokens per source"), ("tokens_by_license", "Tokens per licence")):
        if fig[key]:
            parts.append(_barh(list(fig[key]), list(fig[key].values()), title, "tokens"))
    lengths = [
        _hist(fig["n_tokens_histogram"], "Document length (tokens)", "tokens per document"),
        _hist(fig["n_chars_histogram"], "Document length (characters)", "characters per document"),
    ]
    return [_section("Composition", *parts), _section("Document lengths", *lengths)]


def duplicate_section(fig: dict[str, Any]) -> str:
    parts = []
    exact = fig["exact_cluster_sizes"]
    if exact:
        parts.append(_barh([f"{k} copies" for k in exact], list(exact.values()), "Exact-duplicate clusters by size", "clusters"))
    else:
        parts.append(_note("No exact duplicates were found."))
    near = fig["near_cluster_sizes"]
    if near is not None:
        parts.append(_barh([f"size {k}" for k in near], list(near.values()), "Near-duplicate clusters by size (kept member)", "clusters"))
    else:
        parts.append(_note(f"Near-duplicate cluster sizes: not available (no {NEAR_DUP_COLUMN} column in the shards)."))
    return _section("Duplicate clusters", *parts)


def summary_section(manifest: dict) -> str:
    t = manifest.get("totals", {})
    rows = [
        ["documents in", t.get("documents_in", 0)], ["kept", t.get("kept", 0)], ["rejected", t.get("rejected", 0)],
        ["shard rows", t.get("shard_rows", t.get("kept", 0))], ["tokens in shards", t.get("tokens", 0)],
        ["accounting (in = kept + rejected)", "ok" if t.get("accounting_ok") else "MISMATCH"],
        ["tokenizer sha256", manifest.get("tokenizer", {}).get("sha256", "")],
        ["spec sha256", manifest.get("pipeline", {}).get("spec_sha256", "")],
    ]
    parts = [_table(["", ""], rows)]
    layout = manifest.get("shard_layout")
    if layout:
        split_rows = [[name, s["shards"], s["rows"], s["tokens"]] for name, s in layout.get("splits", {}).items()]
        lo, hi = layout["token_window"]
        parts.append(_note(f"Shards target {layout['target_tokens']:,} tokens (window {lo:,}-{hi:,}); validation fraction {layout['validation_fraction']}; seed {layout['seed']}."))
        parts.append(_table(["split", "shards", "rows", "tokens"], split_rows))
    mixing = manifest.get("mixing")
    if mixing:
        mix_rows = [
            [s, m["weight"], m["available_tokens"], m["target_tokens"], m["selected_tokens"], m["epochs"], m["selected_docs"], m["repeated_docs"], m["downsampled_docs"]]
            for s, m in mixing["sources"].items()
        ]
        parts.append(_table(["source", "weight", "available tokens", "target", "selected tokens", "epochs", "docs", "repeated", "down-sampled"], mix_rows))
    return _section("Summary", *parts)


_STYLE = """
body{font-family:sans-serif;margin:0 auto;padding:16px 24px;max-width:1300px;color:#222;background:#fff}
section{margin-bottom:28px} h1{font-size:24px} h2{font-size:19px;border-bottom:1px solid #ccc;padding-bottom:4px}
section svg{display:inline-block;vertical-align:top;margin:6px;max-width:620px;height:auto}
table{border-collapse:collapse;margin:8px 0;font-size:13px} td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left} .note{color:#555;font-style:italic}
"""


def render_report(manifest: dict, figures: dict[str, Any]) -> str:
    """The whole page as a string; ``figures``: the run summary's ``report`` block."""
    name = html.escape(str(manifest.get("pipeline", {}).get("name", "")))
    body = [summary_section(manifest), *funnel_sections(manifest), *composition_sections(figures), duplicate_section(figures)]
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>corpus report: {name}</title>'
        f"<style>{_STYLE}</style></head><body><h1>Corpus report: {name}</h1>{''.join(body)}</body></html>\n"
    )


def write_report(output: str, manifest: dict, figures: dict[str, Any]) -> str:
    """Write ``output/report.html`` and return its location."""
    location = storage.join(output, REPORT_NAME)
    storage.write_text(location, render_report(manifest, figures))
    return location
