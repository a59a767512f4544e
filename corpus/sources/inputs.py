"""Find the input files a run will read, hash them and cut them into ranges, before any work starts.

Inputs are listed once, in sorted order, so a run over the same files always plans the same ranges
(which is what makes checkpoints reusable and output deterministic). Every location goes through
corpus.io, so an input may be a local path or an object-store URI.

Recorded paths (in locators, doc_ids and manifests) are ``<input name>/<path below the input>``,
where the input name is the spec's ``name`` or the last component of its path: the same files give
the same doc_ids whether they sit in ``data/x/`` or ``s3://bucket/x/``, and whatever directory the
run starts from.
"""

from __future__ import annotations

from dataclasses import dataclass

from corpus.io import storage


class InputError(ValueError):
    """An input path that cannot be read at all (missing, or of a kind no reader handles)."""


@dataclass(frozen=True)
class InputFile:
    """One file to read, with the source name and licence its spec entry gave it.

    ``path`` is what locators record (``<input name>/<relative path>``); ``location`` is where the
    readers open it (an absolute local path or a URI, fixed on the driver so every worker finds it);
    ``root`` is the location of the spec input the file was found under.
    """

    path: str
    location: str
    root: str
    kind: str  # a registered reader kind (corpus.sources.registry)
    size: int
    sha256: str
    source: str
    license: str
    text_column: str = "text"  # JSONL field / Parquet column with the text


@dataclass(frozen=True)
class InputRange:
    """A part of one input file that one task reads: the unit of splitting a large input.

    ``start``/``end`` are in the reader's own unit (byte offsets of record or line starts for WARC
    and JSONL, row-group indexes for Parquet); ``end`` None means to the end of the file.
    ``first_line`` is the number of the line at ``start`` for line-based readers, so locators hold
    the same line numbers however the file was split.
    """

    file: InputFile
    start: int = 0
    end: int | None = None
    first_line: int = 1

    @property
    def whole(self) -> bool:
        return self.start == 0 and self.end is None


def recorded_path(name: str, root: str, location: str) -> str:
    """``<name>/<location relative to root>`` (just ``name`` when the input is the file itself)."""
    rel = storage.relative(location, root)
    return f"{name}/{rel}" if rel else name


def input_name(path: str) -> str:
    """The default name of a spec input: the last component of its path (``data/sample/x`` -> ``x``)."""
    return storage.basename(storage.normalize(path))
