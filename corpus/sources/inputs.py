"""Find the input files a run will read, and hash them, before any work starts.

Inputs are listed once, in sorted order, so a run over the same files always plans the same
partitions (which is what makes checkpoints reusable and output deterministic).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from corpus.provenance.hashing import file_sha256

WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")


class InputError(ValueError):
    """An input path that cannot be read at all (missing, or of a kind no reader handles)."""


@dataclass(frozen=True)
class InputFile:
    """One file to read, with the source name and licence its spec entry gave it."""

    path: str
    kind: str  # "warc" | "html"
    size: int
    sha256: str
    source: str
    license: str


def kind_of(path: Path) -> str | None:
    """The reader for a file, by name; None when no reader handles it."""
    name = path.name.lower()
    if name.endswith(WARC_SUFFIXES):
        return "warc"
    if name.endswith(HTML_SUFFIXES):
        return "html"
    return None


def expand_input(path: Path, source: str, license: str) -> tuple[list[InputFile], list[str]]:
    """Files under ``path`` that a reader handles, and the ones skipped (recorded, not lost).

    A file named explicitly must be readable; inside a directory, files of other kinds
    (index.tsv, images) are listed as skipped so the manifest shows they were seen.
    """
    if not path.exists():
        raise InputError(f"input not found: {path}")
    if path.is_file():
        kind = kind_of(path)
        if kind is None:
            raise InputError(
                f"input {path}: unsupported file type (expected {', '.join(WARC_SUFFIXES + HTML_SUFFIXES)})"
            )
        candidates = [path]
    else:
        candidates = sorted(p for p in path.rglob("*") if p.is_file())
    found: list[InputFile] = []
    skipped: list[str] = []
    for p in candidates:
        kind = kind_of(p)
        if kind is None:
            skipped.append(str(p))
            continue
        found.append(InputFile(str(p), kind, p.stat().st_size, file_sha256(p), source, license))
    return found, skipped
