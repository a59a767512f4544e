"""The output directory: refuse the unsafe ones before any work, and never delete what we did not write.

Refused (exit 2, one line): an output equal to or inside an input (the next run would read its own
shards), an input inside the output, an output that is an existing file, and a non-empty directory
that is not an earlier output of this pipeline (unless ``--overwrite``). An earlier output is
recognised by its ledger, ``.corpus-output.json``, which lists every file the pipeline wrote
there; only those are ever replaced or deleted. A file in ``shards/``, ``rejected/``,
``signatures/`` or ``provenance/`` that the ledger does not list, or a file the run would write
over that the ledger does not list, stops the run instead of being deleted.
"""

from __future__ import annotations

import json

from corpus.io import storage

LEDGER = ".corpus-output.json"
WORK_DIR = "_work"
#: Folders whose contents belong to the pipeline (each run replaces them).
OWNED_DIRS = ("shards", "rejected", "signatures", "provenance")
#: Top-level files a run writes.
OWNED_FILES = ("manifest.json", "report.html", "ATTRIBUTION.md", "datasheet.md", "croissant.json", "README.md", "run.log")


class OutputError(ValueError):
    """The output location cannot be used; the message says why and what to do."""


def check_against_inputs(output: str, inputs: dict[str, str]) -> None:
    """Refuse an output equal to, inside, or containing an input (``inputs``: name -> location)."""
    for name, loc in sorted(inputs.items()):
        if storage.contains(loc, output):
            raise OutputError(f"--output {output} is inside input {name!r} ({loc}): a later run would read its own output; choose a directory outside the inputs")
        if storage.contains(output, loc):
            raise OutputError(f"input {name!r} ({loc}) is inside --output {output}: choose an output directory that holds no inputs")


def read_ledger(output: str) -> set[str] | None:
    """The files an earlier run wrote here (relative paths), or None when this is not an earlier output."""
    path = storage.join(output, LEDGER)
    if not storage.is_file(path):
        return None
    try:
        return set(json.loads(storage.read_text(path))["files"])
    except (ValueError, KeyError, TypeError):
        raise OutputError(f"{path} is damaged; remove it only if {output} holds nothing but an earlier corpus run") from None


class Ledger:
    """The record of what the pipeline wrote in an output directory.

    A file is added *before* it is written, so a run killed half-way still owns what it left.
    """

    def __init__(self, output: str, files: set[str] | None = None):
        self.output = output
        self.files = set(files or ())
        self._save()

    def _save(self) -> None:
        storage.write_text(storage.join(self.output, LEDGER), json.dumps({"files": sorted(self.files)}, indent=1) + "\n")

    def add(self, *paths: str) -> None:
        new = set(paths) - self.files
        if new:
            self.files |= new
            self._save()


def _listing(output: str) -> list[str]:
    """Files under ``output`` relative to it, except the work directory."""
    out = []
    for loc, _ in storage.walk(output).files:
        rel = storage.relative(loc, output)
        if rel != LEDGER and not rel.startswith(WORK_DIR + "/"):
            out.append(rel)
    return sorted(out)


def prepare_output(output: str, overwrite: bool) -> Ledger:
    """Check ``output``, remove the previous run's files, and return the new run's ledger.

    Raises OutputError for an existing file, a non-empty foreign directory (unless ``overwrite``),
    and for any file the run would replace or whose folder it owns that no earlier run wrote.
    """
    if storage.is_file(output):
        raise OutputError(f"--output {output} is an existing file; give a directory")
    is_dir = storage.is_dir(output)
    ledger = read_ledger(output) if is_dir else None
    present = _listing(output) if is_dir else []
    if ledger is None and present and not overwrite:
        raise OutputError(
            f"--output {output} is not empty and is not an earlier output of corpus run ({len(present)} file(s), e.g. {present[0]}); "
            "choose an empty or new directory, or pass --overwrite to write beside those files"
        )
    ledger = ledger or set()
    foreign = [p for p in present if p not in ledger and (p.split("/", 1)[0] in OWNED_DIRS or p in OWNED_FILES)]
    if foreign:
        raise OutputError(
            f"{storage.join(output, foreign[0])} was not written by corpus run ({len(foreign)} such file(s) where the run writes); "
            "move them away: the pipeline never deletes or overwrites files it did not write"
        )
    for rel in sorted(ledger & set(present)):
        storage.delete_file(storage.join(output, rel))
    storage.makedirs(output)
    return Ledger(output)  # marks the directory as ours from the start; the run adds what it writes
