"""The JSON Schemas in manifests/ and validation of real output files against them.

Parquet files are checked row by row (each row as a JSON object), so a schema written for an
auditor (who reads JSON Schema, not Arrow) is the contract for shards and rejections alike.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from corpus.resources import resource_dir

#: Output file kind -> schema file in manifests/.
SCHEMA_FILES = {
    "manifest": "manifest.schema.json",
    "shard": "shard-row.schema.json",
    "rejected": "rejected-row.schema.json",
    "provenance": "provenance-row.schema.json",
    "croissant": "croissant.schema.json",
}


def manifests_dir() -> Path:
    """The ``manifests/`` folder: the JSON Schema of every file a run writes."""
    return resource_dir("manifests")


@lru_cache(maxsize=None)
def load_schema(kind: str) -> dict[str, Any]:
    schema = json.loads((manifests_dir() / SCHEMA_FILES[kind]).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}


def validate_object(kind: str, obj: Any, where: str, limit: int = 5) -> list[str]:
    """Messages for every way ``obj`` breaks the ``kind`` schema (at most ``limit``)."""
    validator = jsonschema.Draft202012Validator(load_schema(kind))
    out = []
    for err in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
        path = "/".join(str(p) for p in err.absolute_path)
        out.append(f"{where}{'#/' + path if path else ''}: {err.message[:300]}")
        if len(out) >= limit:
            break
    return out


def validate_parquet(kind: str, location: str, where: str, columns: list[str] | None = None, limit: int = 5, batch_rows: int = 4096) -> list[str]:
    """Validate every row of a Parquet file (optionally only ``columns``) against a row schema,
    streaming in batches (a large shard is never held whole)."""
    from corpus.io import storage

    validator = jsonschema.Draft202012Validator(load_schema(kind))
    out: list[str] = []
    index = 0
    try:
        for batch in storage.parquet_file(location).iter_batches(batch_size=batch_rows, columns=columns):
            batch.validate(full=True)  # full: also checks UTF-8 of strings
            for row in batch.to_pylist():
                for err in validator.iter_errors(_jsonable(row)):
                    out.append(f"{where} row {index} ({row.get('doc_id')}): {'/'.join(map(str, err.absolute_path)) or '-'}: {err.message[:200]}")
                    if len(out) >= limit:
                        return out
                index += 1
    except Exception as exc:  # a corrupt file is a finding, not a crash
        return out + [f"{where}: unreadable Parquet ({type(exc).__name__}: {exc})"[:400]]
    return out
