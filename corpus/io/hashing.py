"""The hashes manifests use: sha256 of files at any location, and of JSON objects."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from corpus.io.storage import iter_file


def file_sha256(location: str) -> str:
    """Hex sha256 of a file's bytes, streamed (local path or URI)."""
    h = hashlib.sha256()
    for block in iter_file(str(location)):
        h.update(block)
    return h.hexdigest()


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no extra whitespace: the form that gets hashed."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def object_sha256(obj: Any) -> str:
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()
