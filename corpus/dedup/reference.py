"""Signatures kept with a run's output, so a later run can dedup against that corpus.

A run with near dedup writes ``signatures/part-NNNNN.parquet`` (SIGNATURE_SCHEMA rows of the kept
documents, no text, sorted by doc_id) and records the signature settings in its manifest. A later
run names that directory (a path or a URI) as ``dedup.near.reference``; its signatures are only
comparable if they were made with the same shingles, n, seed and number of permutations, which is
checked before any work starts.
"""

from __future__ import annotations

import json
from typing import Any

from corpus.io import storage

SIGNATURE_DIR = "signatures"
#: Settings that must match for signatures of two runs to be comparable.
SIGNATURE_KEYS = ("shingle", "ngram", "seed", "num_perm")


def signature_settings(near: dict[str, Any]) -> dict[str, Any]:
    """The signature-defining settings of a ``[dedup.near]`` section (bands/rows only group them)."""
    return {"shingle": near["shingle"], "ngram": near["ngram"], "seed": near["seed"], "num_perm": near["bands"] * near["rows"]}


def reference_files(output: str) -> list[str]:
    listing = storage.walk(storage.join(str(output), SIGNATURE_DIR))
    return [loc for loc, _ in listing.files if loc.endswith(".parquet")]


def reference_problem(output: str, near: dict[str, Any]) -> str | None:
    """Why ``output`` cannot serve as a reference for ``near``, or None if it can."""
    output = str(output)
    manifest = storage.join(output, "manifest.json")
    if not storage.is_file(manifest):
        return f"{output} is not a finished run's output (no manifest.json)"
    try:
        recorded = json.loads(storage.read_text(manifest)).get("dedup_near", {}).get("settings")
    except (json.JSONDecodeError, AttributeError):
        return f"{manifest} is not a readable manifest"
    if not recorded or not reference_files(output):
        return f"{output} has no near-dedup signatures (run it with [dedup.near] enabled)"
    want = signature_settings(near)
    diff = {k: (recorded.get(k), want[k]) for k in SIGNATURE_KEYS if recorded.get(k) != want[k]}
    if diff:
        return "signature settings differ from the reference run (reference, this spec): " + ", ".join(f"{k}={a!r} vs {b!r}" for k, (a, b) in diff.items())
    return None
