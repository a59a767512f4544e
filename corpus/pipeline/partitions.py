"""Partitions: the unit of parallel work and of checkpointing, in two phases.

A partition is one WARC file or a run of HTML files. It is processed twice, each phase ending in a
checkpoint of its own:

* **prepare** (read, licence, extract, normalise): the costly I/O and trafilatura work. Its key
  hashes the partition's files and the settings of these stages only, so changing a quality
  threshold never extracts a page again.
* **judge** (boilerplate, quality, PII, token counts, MinHash signatures): reads the prepared
  documents. Its key hashes the prepared key, the settings of these stages and, when boilerplate
  removal is on, the run-wide repeated lines of the partition's sites, which are only known once
  every partition is prepared.

A checkpoint is a directory written under a temporary name and renamed into place: it either
exists whole or not at all, even if the process writing it is killed.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.dedup.minhash import MinHasher
from corpus.filters.boilerplate import BoilerplateStage, line_pages
from corpus.pipeline.spec import LoadedSpec
from corpus.io.hashing import object_sha256
from corpus.sources.inputs import InputFile, expand_input
from corpus.sources.read import read_inputs
from corpus.stage import Stage, StageCounts, count_output


@dataclass(frozen=True)
class Partition:
    index: int
    key: str  # the checkpoint key of the phase the partition is planned for
    files: tuple[InputFile, ...]
    prepared_key: str = ""  # judge phase: the prepare checkpoint it reads
    boilerplate: dict[str, tuple[int, ...]] = field(default_factory=dict)  # judge phase: site -> repeated line hashes

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Partition":
        d = json.loads(text)
        files = tuple(InputFile(**f) for f in d["files"])
        boilerplate = {site: tuple(lines) for site, lines in d.get("boilerplate", {}).items()}
        return cls(d["index"], d["key"], files, d.get("prepared_key", ""), boilerplate)


def plan_partitions(loaded: LoadedSpec, config_sha256: str) -> tuple[list[Partition], list[InputFile], list[str]]:
    """All partitions of a run in a fixed order (keyed for the prepare phase), plus the input files
    and skipped paths."""
    limits = loaded.spec.partitioning
    files: list[InputFile] = []
    skipped: list[str] = []
    for inp in loaded.spec.inputs:
        found, skip = expand_input(loaded.resolve(inp.path), inp.source, inp.license, inp.format, inp.text_column)
        files.extend(found)
        skipped.extend(skip)
    groups: list[list[InputFile]] = []
    current: list[InputFile] = []
    size = 0
    for f in files:
        if f.kind == "warc":
            groups.append([f])
            continue
        if current and (len(current) >= limits.max_files or size + f.size > limits.max_bytes):
            groups.append(current)
            current, size = [], 0
        current.append(f)
        size += f.size
    if current:
        groups.append(current)
    partitions = [
        Partition(i, object_sha256({"files": [(f.path, f.sha256, f.source, f.license, f.kind, f.text_column) for f in g], "config": config_sha256})[:20], tuple(g))
        for i, g in enumerate(groups)
    ]
    return partitions, files, skipped


def judge_plan(
    partitions: list[Partition], prepared: "CheckpointStore", config_sha256: str, site_lines: dict[str, tuple[int, ...]] | None
) -> list[Partition]:
    """The same partitions keyed for the judge phase. ``site_lines``: the run-wide repeated lines
    per site when boilerplate removal is on (each partition carries, and is keyed by, its own sites')."""
    planned = []
    for p in partitions:
        mine: dict[str, tuple[int, ...]] = {}
        if site_lines is not None:
            sites = set(pq.read_table(prepared.lines_file(p.key), columns=["site"]).column("site").to_pylist())
            mine = {site: site_lines[site] for site in sorted(sites) if site in site_lines}
        key = object_sha256({"prepared": p.key, "config": config_sha256, "boilerplate": mine})[:20]
        planned.append(replace(p, key=key, prepared_key=p.key, boilerplate=mine))
    return planned


@dataclass
class PartitionResult:
    kept: pa.Table
    rejected: pa.Table
    counts: dict[str, StageCounts]
    signatures: pa.Table | None = None
    lines: pa.Table | None = None  # prepare phase with boilerplate on: (site, line, page) hashes


def _run_stages(table: pa.Table, stages: list[Stage], counts: dict[str, StageCounts], rejected: list[pa.Table]) -> pa.Table:
    for stage in stages:
        out = stage.process(table)
        counts[stage.name] = count_output(table, out)
        rejected.append(out.rejected)
        table = out.kept
    return table


def prepare_partition(partition: Partition, stages: list[Stage], line_chars: int | None = None) -> PartitionResult:
    """Read a partition and run the prepare stages; no Ray needed. With ``line_chars`` (boilerplate
    on), also list per site the pages holding each line of at most that many characters."""
    table, rejected, read_counts = read_inputs(partition.files)
    counts = {"read": read_counts}
    rejected_parts = [rejected]
    table = _run_stages(table, stages, counts, rejected_parts)
    lines = line_pages(table, line_chars) if line_chars is not None else None
    return PartitionResult(table, pa.concat_tables(rejected_parts), counts, lines=lines)


def judge_partition(partition: Partition, prepared: PartitionResult, stages: list[Stage], hasher: MinHasher | None = None) -> PartitionResult:
    """Run the judge stages over a prepared partition; counts and rejections include the prepare phase's.

    With a ``hasher`` the kept documents' MinHash signatures are computed here too, so they are
    checkpointed with the partition and a resumed run never recomputes them.
    """
    stages = [s.with_repeated(partition.boilerplate) if isinstance(s, BoilerplateStage) else s for s in stages]
    counts = dict(prepared.counts)
    rejected_parts = [prepared.rejected]
    table = _run_stages(prepared.kept, stages, counts, rejected_parts)
    signatures = hasher.signature_table(table) if hasher else None
    return PartitionResult(table, pa.concat_tables(rejected_parts), counts, signatures)


class CheckpointStore:
    """Finished partitions of one phase under ``<work>/<phase dir>/<key>/`` (kept, rejected, counts,
    and signatures or line counts)."""

    #: phase -> its folder under the work directory
    DIRS = {"prepare": "prepared", "judge": "partitions"}

    def __init__(self, work_dir: Path, phase: str = "judge"):
        self.root = work_dir / self.DIRS[phase]

    def path(self, key: str) -> Path:
        return self.root / key

    def is_done(self, key: str) -> bool:
        return (self.path(key) / "counts.json").is_file()

    def save(self, key: str, result: PartitionResult) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{key}.tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        pq.write_table(result.kept, tmp / "kept.parquet", compression="zstd")
        pq.write_table(result.rejected, tmp / "rejected.parquet", compression="zstd")
        if result.signatures is not None:
            pq.write_table(result.signatures, tmp / "signatures.parquet", compression="zstd")
        if result.lines is not None:
            pq.write_table(result.lines, tmp / "lines.parquet", compression="zstd")
        (tmp / "counts.json").write_text(
            json.dumps({k: v.to_dict() for k, v in result.counts.items()}), encoding="utf-8"
        )
        try:
            os.rename(tmp, self.path(key))
        except OSError:  # another attempt finished the same partition first: keep that one
            shutil.rmtree(tmp, ignore_errors=True)

    def counts(self, key: str) -> dict[str, StageCounts]:
        data = json.loads((self.path(key) / "counts.json").read_text(encoding="utf-8"))
        return {k: StageCounts.from_dict(v) for k, v in data.items()}

    def load(self, key: str) -> PartitionResult:
        """A finished checkpoint read back (kept, rejected, counts)."""
        return PartitionResult(pq.read_table(self.kept_file(key)), pq.read_table(self.rejected_file(key)), self.counts(key))

    def kept_file(self, key: str) -> Path:
        return self.path(key) / "kept.parquet"

    def signature_file(self, key: str) -> Path:
        return self.path(key) / "signatures.parquet"

    def lines_file(self, key: str) -> Path:
        return self.path(key) / "lines.parquet"

    def rejected_file(self, key: str) -> Path:
        return self.path(key) / "rejected.parquet"

    def clean_temporaries(self) -> None:
        if self.root.is_dir():
            for p in self.root.glob(".*.tmp-*"):
                shutil.rmtree(p, ignore_errors=True)
