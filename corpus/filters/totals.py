"""Per-type totals of the text-cleaning counts (PII redactions, boilerplate lines) for the manifest.

Summed over the documents that end up in the shards (checkpointed kept tables minus exact
duplicates), so the manifest says how much was redacted or removed in the data actually shipped.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow.parquet as pq

from corpus.filters.pii import PII_TYPES

BOILERPLATE_COLUMN = "boilerplate_lines"


def cleaning_totals(kept_files: Iterable[str], dropped: set[str]) -> dict:
    """``{"pii": {type: n}, "boilerplate_lines_removed": n}``; keys only for columns present."""
    pii: dict[str, int] = {}
    boiler: int | None = None
    for f in kept_files:
        names = set(pq.read_schema(f).names)
        cols = [c for c in [f"pii_{t}" for t in PII_TYPES] + [BOILERPLATE_COLUMN] if c in names]
        if not cols:
            continue
        table = pq.read_table(f, columns=["doc_id", *cols])
        ids = table.column("doc_id").to_pylist()
        for c in cols:
            total = sum(v or 0 for d, v in zip(ids, table.column(c).to_pylist()) if d not in dropped)
            if c == BOILERPLATE_COLUMN:
                boiler = (boiler or 0) + total
            else:
                key = c[len("pii_"):]
                pii[key] = pii.get(key, 0) + total
    out: dict = {}
    if pii:
        out["pii"] = {t: pii[t] for t in PII_TYPES if t in pii}
    if boiler is not None:
        out["boilerplate_lines_removed"] = boiler
    return out
