"""The run manifest: what went in, what each stage did, what came out, and with which code.

Assembled here from what the run's steps return (``build_manifest``), never in the runner.
Everything in it is deterministic for the same inputs and spec except the ``volatile`` block,
which holds the only timestamps and host-specific facts.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from corpus import __version__
from corpus.document import SCHEMA_VERSION
from corpus.io import storage
from corpus.io.hashing import object_sha256

MANIFEST_VERSION = "2"
MANIFEST_FILE = "manifest.json"
KEY_LIBRARIES = [
    "ray", "pyarrow", "trafilatura", "lxml", "lxml_html_clean", "fugashi", "unidic-lite",
    "datasketch", "sentencepiece", "tokenizers", "warcio", "pydantic", "numpy",
]


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in KEY_LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_state(where: Path | None = None) -> dict[str, Any]:
    """Commit of the code that ran, and whether it had uncommitted changes."""
    where = where or Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True, text=True, check=True,
            ).stdout.strip()
        )
        return {"git_commit": commit, "git_dirty": dirty}
    except (OSError, subprocess.CalledProcessError):
        return {"git_commit": "unknown", "git_dirty": None}


def code_record() -> dict[str, Any]:
    return {"package": "jp-corpus", "version": __version__, "schema_version": SCHEMA_VERSION, **git_state()}


def recorded_location(path: str | Path) -> str:
    """A local path as the manifest records it: relative to the working directory when below it
    (so a checkout's manifest does not name the machine it ran on), else absolute; URIs as given."""
    path = str(path)
    if storage.is_uri(path):
        return path
    absolute, cwd = os.path.abspath(path), os.getcwd()
    if absolute == cwd:
        return "."
    return os.path.relpath(absolute, cwd) if absolute.startswith(cwd.rstrip(os.sep) + os.sep) else absolute


def write_manifest(output: str, manifest: dict[str, Any]) -> None:
    """Write with sorted keys and a trailing newline; the last file of a run (its commit marker)."""
    storage.write_text(storage.join(output, MANIFEST_FILE), json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


def read_manifest(output: str) -> dict[str, Any]:
    return json.loads(storage.read_text(storage.join(output, MANIFEST_FILE)))


def totals(stages: list[dict[str, Any]], kept: int, tokens: int) -> dict[str, Any]:
    """Overall accounting: documents in = kept + every rejection, and whether that holds."""
    documents_in = stages[0]["in"] if stages else 0
    rejected_by_stage = {s["name"]: sum(s["rejected"].values()) for s in stages}
    rejected = sum(rejected_by_stage.values())
    return {
        "documents_in": documents_in,
        "kept": kept,
        "rejected": rejected,
        "rejected_by_stage": rejected_by_stage,
        "tokens": tokens,
        "accounting_ok": documents_in == kept + rejected,
    }


def build_manifest(
    *, loaded: Any, config_sha256: str, profile: dict[str, Any], plan: Any, stages: list[dict[str, Any]], sections: dict[str, Any],
    licenses: dict[str, Any], volatile: dict[str, Any], tokenizer: dict[str, Any],
) -> dict[str, Any]:
    """The manifest of a finished run, from the steps' results.

    ``stages``: [{name, in, out, rejected}] in run order; ``sections``: what the steps added
    (shards, rejected_files, shard_layout, token_funnel, mixing, dedup_near, signatures, cleaning
    totals, provenance files); ``licenses``: the licence block (policy, registry, summary).
    """
    spec = loaded.spec
    resolved = spec.model_dump(mode="json")
    shards = sections.get("shards", [])
    kept = stages[-1]["out"] if stages else 0
    tokens = sum(s["tokens"] for s in shards)
    manifest: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "pipeline": {
            "name": spec.pipeline.name,
            "spec_file": recorded_location(loaded.path),
            "spec": resolved,
            "spec_sha256": object_sha256(resolved),
            "stage_config_sha256": config_sha256,
        },
        "code": code_record(),
        "libraries": library_versions(),
        "quality_profile": profile,
        "tokenizer": tokenizer,
        "inputs": [
            {"path": f.path, "kind": f.kind, "source": f.source, "license": f.license, "bytes": f.size, "sha256": f.sha256}
            for f in plan.files
        ],
        "input_roots": {name: recorded_location(loc) for name, loc in sorted(plan.roots.items())},
        "skipped_inputs": plan.skipped,
        "partitions": sections.get("partitions", len(plan.partitions)),
        "stages": stages,
        "shards": shards,
        "rejected_files": sections.get("rejected_files", []),
        "totals": {**totals(stages, kept, tokens), "shard_rows": sum(s["rows"] for s in shards)},
        **sections.get("cleaning", {}),
        "shard_layout": sections.get("shard_layout"),
        "token_funnel": sections.get("token_funnel", []),
        "mixing": sections.get("mixing"),
        "licenses": licenses,
        "volatile": {"_note": "the only fields that differ between identical runs", **volatile},
    }
    if "dedup_near" in sections:
        manifest["dedup_near"] = {**sections["dedup_near"], "signatures": sections.get("signatures", [])}
    return manifest
