"""The run manifest: what went in, what each stage did, what came out, and with which code.

Everything in it is deterministic for the same inputs and spec except the ``volatile`` block,
which holds the only timestamps and host-specific facts.
"""

from __future__ import annotations

import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from corpus import __version__
from corpus.document import SCHEMA_VERSION

MANIFEST_VERSION = "1"
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


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Write with sorted keys and a trailing newline, atomically."""
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


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


def manifest_version() -> str:
    return MANIFEST_VERSION
