"""DIR/ATTRIBUTION.md: the credit every kept licence requires, grouped by source.

Attribution lines are rendered per document by the licence stage (publisher + URL + licence
wording from filters/licenses.toml); here they are grouped so a republisher can copy one block
per source and licence. Rendered from the run summary's groups (corpus/provenance/summary.py),
so it never needs the documents in memory. Deterministic: sorted, no timestamps.
"""

from __future__ import annotations

from typing import Any

ATTRIBUTION_FILE = "ATTRIBUTION.md"
MAX_LINES_PER_GROUP = 200


def render(groups: list[dict[str, Any]], licenses: dict[str, dict[str, Any]]) -> str:
    """``groups``: [{source, license, docs, lines (the first distinct lines, sorted), n_lines (how many
    distinct lines in all)}] in (source, licence) order."""
    lines = [
        "# Attribution",
        "",
        "Credit required by the licences of the kept documents, per source. Every line below is also",
        "the `attribution` column of the documents it covers. Texts were extracted from HTML and",
        "normalised (NFKC): that is a modification (加工) under 政府標準利用規約 / PDL1.0 / CC BY.",
        "",
    ]
    for g in groups:
        lic_id = g["license"]
        lic = licenses.get(lic_id, {})
        lines += [f"## {g['source']} — {lic_id}", ""]
        lines.append(f"- licence: {lic.get('name', lic_id)} {lic.get('url', '')}".rstrip())
        lines.append(f"- documents: {g['docs']}")
        required = [t for t in g["lines"] if t]
        if not required:
            lines.append("- attribution: none required by the licence")
        else:
            lines.append("- attribution:")
            for t in required[:MAX_LINES_PER_GROUP]:
                lines.append(f"  - {t}")
            if g["n_lines"] > MAX_LINES_PER_GROUP:
                lines.append(
                    f"  - … and {g['n_lines'] - MAX_LINES_PER_GROUP} more: every document's own line is its `attribution`"
                    " column, in the shards and in provenance/documents-*.parquet"
                )
        lines.append("")
    return "\n".join(lines)
