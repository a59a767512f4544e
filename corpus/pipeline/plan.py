"""Plan a run: expand the spec's inputs into ranges and group them into partitions.

A partition is the unit of parallel work and of checkpointing: a run of small whole files, or one
range of a large splittable file (WARC.gz by gzip members, JSONL by lines, Parquet by row groups).
It is processed in two phases, each ending in a checkpoint of its own (corpus/pipeline/documents.py):

* **prepare** (read, licence, extract, normalise): the costly I/O and trafilatura work. Its key
  hashes the partition's inputs and the settings of these stages only, so changing a quality
  threshold never extracts a page again.
* **judge** (boilerplate, quality, PII, token counts, MinHash signatures): reads the prepared
  documents. Its key hashes the prepare key, the settings of these stages and, when boilerplate
  removal is on, the run-wide repeated lines of the partition's sites.

The plan depends only on the inputs and the spec, never on the number of workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from corpus.io.hashing import object_sha256
from corpus.pipeline.spec import LoadedSpec, input_name
from corpus.sources.inputs import InputFile, InputRange
from corpus.sources.read import expand_input


@dataclass(frozen=True)
class Partition:
    index: int
    key: str  # prepare-phase checkpoint key
    ranges: tuple[InputRange, ...]
    input_bytes: int = 0  # for progress: roughly how much input it reads
    judge_key: str = ""  # judge-phase checkpoint key (known once boilerplate lines are counted)
    boilerplate: dict[str, tuple[int, ...]] = field(default_factory=dict)  # site -> repeated line hashes


@dataclass
class RunPlan:
    partitions: list[Partition]
    files: list[InputFile]
    skipped: list[dict[str, str]]
    roots: dict[str, str]  # input name -> its location (for reopening locators)


def _range_bytes(rng: InputRange) -> int:
    if rng.whole:
        return rng.file.size
    if rng.file.kind == "parquet":  # row-group ranges: a share of the file
        return rng.file.size // max(1, (rng.end or rng.start + 1) - rng.start)
    return (rng.end if rng.end is not None else rng.file.size) - rng.start


def _range_identity(rng: InputRange) -> tuple[Any, ...]:
    f = rng.file
    return (f.path, f.sha256, f.source, f.license, f.kind, f.text_column, rng.start, rng.end, rng.first_line)


def plan_run(loaded: LoadedSpec, config_sha256: str) -> RunPlan:
    """All partitions of a run in a fixed order (keyed for the prepare phase), the input files,
    what was skipped (with reasons) and the input roots."""
    spec = loaded.spec
    limits = spec.partitioning
    files: list[InputFile] = []
    ranges: list[InputRange] = []
    skipped: list[dict[str, str]] = []
    roots: dict[str, str] = {}
    for inp in spec.inputs:
        name = input_name(inp)
        location = loaded.location(inp.path)
        roots[name] = location
        found = expand_input(location, inp.source, inp.license, inp.format, inp.text_column, name, limits.max_bytes)
        files.extend(found.files)
        ranges.extend(found.ranges)
        skipped.extend(found.skipped)
    groups: list[list[InputRange]] = []
    current: list[InputRange] = []
    size = 0
    for rng in ranges:
        if not rng.whole:  # a range of a split file is a partition of its own
            groups.append([rng])
            continue
        if current and (len(current) >= limits.max_files or size + rng.file.size > limits.max_bytes):
            groups.append(current)
            current, size = [], 0
        current.append(rng)
        size += rng.file.size
    if current:
        groups.append(current)
    partitions = [
        Partition(i, object_sha256({"ranges": [_range_identity(r) for r in g], "config": config_sha256})[:20], tuple(g), sum(map(_range_bytes, g)))
        for i, g in enumerate(groups)
    ]
    return RunPlan(partitions, files, skipped, roots)


def keyed_for_judging(part: Partition, config_sha256: str, site_lines: dict[str, tuple[int, ...]] | None, sites: list[str]) -> Partition:
    """The partition keyed for the judge phase; with boilerplate on (``site_lines``) it carries,
    and is keyed by, the run-wide repeated lines of its own ``sites``."""
    mine = {s: site_lines[s] for s in sorted(sites) if s in site_lines} if site_lines is not None else {}
    key = object_sha256({"prepared": part.key, "config": config_sha256, "boilerplate": mine})[:20]
    return replace(part, judge_key=key, boilerplate=mine)
