"""DIR/ATTRIBUTION.md: the credit every kept licence requires, grouped by source.

Attribution lines are rendered per document by the licence stage (publisher + URL + licence
wording from filters/licenses.toml); here they are grouped so a republisher can copy one block
per source and licence. Deterministic: sorted, no timestamps (its sha256 is in the manifest).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from corpus.io.hashing import file_sha256

ATTRIBUTION_FILE = "ATTRIBUTION.md"
MAX_LINES_PER_GROUP = 200


def attribution_groups(rows: list[dict[str, Any]]) -> dict[tuple[str, str], list[str]]:
    """(source, licence) -> the distinct attribution lines of its kept documents."""
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in rows:
        groups[(r.get("source") or "", r.get("license") or "")].add(r.get("attribution") or "")
    return {k: sorted(v) for k, v in sorted(groups.items())}


def render(rows: list[dict[str, Any]], licenses: dict[str, dict[str, Any]]) -> str:
    lines = [
        "# Attribution",
        "",
        "Credit required by the licences of the kept documents, per source. Every line below is also",
        "the `attribution` column of the documents it covers. Texts were extracted from HTML and",
        "normalised (NFKC): that is a modification (加工) under 政府標準利用規約 / PDL1.0 / CC BY.",
        "",
    ]
    for (source, lic_id), texts in attribution_groups(rows).items():
        lic = licenses.get(lic_id, {})
        docs = len({r["doc_id"] for r in rows if (r.get("source") or "") == source and (r.get("license") or "") == lic_id})
        lines += [f"## {source} — {lic_id}", ""]
        lines.append(f"- licence: {lic.get('name', lic_id)} {lic.get('url', '')}".rstrip())
        lines.append(f"- documents: {docs}")
        required = [t for t in texts if t]
        if not required:
            lines.append("- attribution: none required by the licence")
        else:
            lines.append("- attribution:")
            for t in required[:MAX_LINES_PER_GROUP]:
                lines.append(f"  - {t}")
            if len(required) > MAX_LINES_PER_GROUP:
                lines.append(
                    f"  - … and {len(required) - MAX_LINES_PER_GROUP} more: every document's own line is its `attribution`"
                    " column, in the shards and in provenance/documents.parquet"
                )
        lines.append("")
    return "\n".join(lines)


def write_attribution(output: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    from corpus.provenance.records import kept_rows

    path = output / ATTRIBUTION_FILE
    path.write_text(render(kept_rows(output, manifest["shards"]), manifest["licenses"]["registry"]["licenses"]), encoding="utf-8")
    return {"path": ATTRIBUTION_FILE, "sha256": file_sha256(path)}
