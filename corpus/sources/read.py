"""Plan the inputs of a run (list, route, hash, split) and read ranges of them through their readers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import pyarrow as pa

from corpus.document import DOC_SCHEMA, docs_from_rows, rejects_from_rows
from corpus.io import storage
from corpus.io.bounded import ReadLimits
from corpus.sources.inputs import InputError, InputFile, InputRange, input_name, recorded_path
from corpus.sources.registry import HEAD_BYTES, Plan, Reader, all_suffixes, kind_of, reader
from corpus.sources.rows import Item, Origin, failure
from corpus.stage import StageCounts, reject_row

STAGE = "read"
#: Default size of a range of a splittable file (spec: [partitioning] max_bytes).
SPLIT_BYTES = 64 * 1024 * 1024


@dataclass
class Expansion:
    """What one spec input holds: its files, the ranges they are read in, and what was skipped."""

    files: list[InputFile] = field(default_factory=list)
    ranges: list[InputRange] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"path", "reason"}


def _head(location: str) -> bytes:
    with storage.open_read(location) as fh:
        return fh.read(HEAD_BYTES)


def expand_input(
    path: str, source: str, license: str, format: str | None = None, text_column: str = "text",
    name: str | None = None, split_bytes: int = SPLIT_BYTES,
) -> Expansion:
    """Files under ``path`` (a local path or URI) that a reader handles, hashed and cut into ranges;
    files of no known kind, unreadable files and directories, symlink loops and dangling links are
    listed as skipped with a reason (recorded in the manifest, never silently dropped).

    A file named explicitly must be of a known kind. A forced ``format`` applies to every file
    under ``path`` (hidden files excepted).
    """
    root = storage.normalize(path)
    if not storage.exists(root):
        raise InputError(f"input not found: {path}")
    name = name or input_name(root)
    listing = storage.walk(root)
    out = Expansion()
    out.skipped = [{"path": _recorded(name, root, loc), "reason": why} for loc, why in listing.skipped]
    single = storage.is_file(root)
    for location, size in listing.files:
        recorded = _recorded(name, root, location)
        base = storage.basename(location)
        if "#" in recorded:
            out.skipped.append({"path": recorded, "reason": "file name contains '#', which locators reserve"})
            continue
        if format and base.startswith(".") and not single:
            out.skipped.append({"path": recorded, "reason": "hidden file"})
            continue
        try:
            head = _head(location) if not format else None
            kind = kind_of(base, head, format)
            if kind is None:
                if single:
                    raise InputError(f"input {path}: unsupported file type (expected {', '.join(all_suffixes())})")
                out.skipped.append({"path": recorded, "reason": "no reader for this file type"})
                continue
            plan = _plan(kind, location, size, split_bytes)
        except storage.StorageError as exc:
            out.skipped.append({"path": recorded, "reason": f"unreadable: {exc}"})
            continue
        f = InputFile(recorded, location, root, kind, size, plan.sha256, source, license, text_column)
        out.files.append(f)
        out.ranges.extend(InputRange(f, start, end, first) for start, end, first in plan.ranges)
    return out


def _plan(kind: str, location: str, size: int, split_bytes: int) -> Plan:
    """The reader's plan; a file whose cut points cannot be found (hostile bytes) is read whole,
    so finding out what is wrong with it is the reader's job, with a rejection, not the planner's."""
    r = reader(kind)
    try:
        return r.plan(location, size, split_bytes)
    except storage.StorageError:
        raise
    except Exception:
        return Reader.plan(r, location, size, split_bytes)


def _recorded(name: str, root: str, location: str) -> str:
    try:
        return recorded_path(name, root, location)
    except ValueError:  # a path outside the root (a symlink target): record where it is
        return location


def read_range(rng: InputRange, limits: ReadLimits) -> Iterator[Item]:
    """``reader.read`` with a backstop: an exception a reader lets escape ends only this range, as a
    ``reader_error`` rejection naming where it stopped; documents already read are kept."""
    r = reader(rng.file.kind)
    last = None
    try:
        for item in r.read(rng, limits):
            last = item[0] if isinstance(item, tuple) else item
            yield item
    except Exception as exc:  # a reader bug or an I/O error must cost one rejection, not the run
        after = f" (after {last['locator']})" if last else ""
        why = failure("reader_error", exc)
        why = replace(why, detail=f"{why.detail}; the rest of this range is lost{after}")
        yield Origin.of_file(rng.file, r.locator_kind).reject(why, locator=r.range_locator(rng), tag=f"reader_error:{rng.start}")


def read_inputs(ranges: Sequence[InputRange | InputFile], limits: ReadLimits = ReadLimits()) -> tuple[pa.Table, pa.Table, StageCounts]:
    """Raw document rows, reader rejections, and the 'read' stage counts (whole files or ranges).

    For tests and small tools: it holds everything in memory. The pipeline reads range by range.
    """
    rows: list[dict] = []
    rejected: list[dict] = []
    for rng in ranges:
        rng = rng if isinstance(rng, InputRange) else InputRange(rng)
        for item in read_range(rng, limits):
            if isinstance(item, tuple):
                rejected.append(reject_row(item[0], STAGE, item[1]))
            else:
                rows.append(item)
    counts = StageCounts(len(rows) + len(rejected), len(rows))
    counts.rejected.update(r["reason"] for r in rejected)
    return docs_from_rows(rows, DOC_SCHEMA), rejects_from_rows(rejected), counts
