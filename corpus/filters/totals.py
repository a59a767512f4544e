"""Per-type totals of the text-cleaning counts (PII redactions, boilerplate lines) for the manifest.

Summed over the documents that end up in the shards (checkpointed kept tables minus exact
duplicates), so the manifest says how much was redacted or removed in the data actually shipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pyarrow.parquet as pq

from corpus.filters.pii import PII_TYPES

BOILERPLATE_COLUMN = "boilerplate_lines"


def cleaning_totals(
    kept_files: Iterable[str], dropped: set[str], pii_types: Sequence[str] | None, boilerplate: bool
) -> dict:
    """``{"pii": {type: n}, "boilerplate_lines_removed": n}`` for the enabled steps (zeros included)."""
    pii = {t: 0 for t in PII_TYPES if pii_types is not None and t in pii_types}
    columns = {f"pii_{t}": t for t in pii} | ({BOILERPLATE_COLUMN: "boilerplate"} if boilerplate else {})
    totals = dict.fromkeys(columns.values(), 0)
    for f in kept_files:
        present = [c for c in columns if c in pq.read_schema(f).names]
        if not present:
            continue
        table = pq.read_table(f, columns=["doc_id", *present])
        ids = table.column("doc_id").to_pylist()
        for c in present:
            totals[columns[c]] += sum(v or 0 for d, v in zip(ids, table.column(c).to_pylist()) if d not in dropped)
    out: dict = {}
    if pii_types is not None:
        out["pii"] = {t: totals[t] for t in pii}
    if boilerplate:
        out["boilerplate_lines_removed"] = totals["boilerplate"]
    return out
