"""Partitions: the unit of parallel work and of checkpointing.

A partition is one WARC file or a run of HTML files. Its key hashes the bytes of its files and
the stage configuration, so a finished partition is reused only when both are unchanged. A
checkpoint is a directory written under a temporary name and renamed into place: it either exists
whole or not at all, even if the process writing it is killed.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.dedup.minhash import MinHasher
from corpus.pipeline.spec import LoadedSpec
from corpus.provenance.hashing import object_sha256
from corpus.sources.inputs import InputFile, expand_input
from corpus.sources.read import read_inputs
from corpus.stage import Stage, StageCounts, count_output


@dataclass(frozen=True)
class Partition:
    index: int
    key: str
    files: tuple[InputFile, ...]

    def to_json(self) -> str:
        return json.dumps({"index": self.index, "key": self.key, "files": [asdict(f) for f in self.files]})

    @classmethod
    def from_json(cls, text: str) -> "Partition":
        d = json.loads(text)
        return cls(d["index"], d["key"], tuple(InputFile(**f) for f in d["files"]))


def plan_partitions(loaded: LoadedSpec, config_sha256: str) -> tuple[list[Partition], list[InputFile], list[str]]:
    """All partitions of a run in a fixed order, plus the input files and skipped paths."""
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


@dataclass
class PartitionResult:
    kept: pa.Table
    rejected: pa.Table
    counts: dict[str, StageCounts]
    signatures: pa.Table | None = None


def process_partition(partition: Partition, stages: list[Stage], hasher: MinHasher | None = None) -> PartitionResult:
    """Read a partition and pass it through every document stage; no Ray needed.

    With a ``hasher`` the kept documents' MinHash signatures are computed here too, so they are
    checkpointed with the partition and a resumed run never recomputes them.
    """
    table, rejected, read_counts = read_inputs(partition.files)
    counts = {"read": read_counts}
    rejected_parts = [rejected]
    for stage in stages:
        out = stage.process(table)
        counts[stage.name] = count_output(table, out)
        rejected_parts.append(out.rejected)
        table = out.kept
    rejected_all = pa.concat_tables(rejected_parts)
    signatures = hasher.signature_table(table) if hasher else None
    return PartitionResult(table, rejected_all, counts, signatures)


class CheckpointStore:
    """Finished partitions under ``<work>/partitions/<key>/`` (kept, rejected, counts)."""

    def __init__(self, work_dir: Path):
        self.root = work_dir / "partitions"

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

    def kept_file(self, key: str) -> Path:
        return self.path(key) / "kept.parquet"

    def signature_file(self, key: str) -> Path:
        return self.path(key) / "signatures.parquet"

    def rejected_file(self, key: str) -> Path:
        return self.path(key) / "rejected.parquet"

    def clean_temporaries(self) -> None:
        if self.root.is_dir():
            for p in self.root.glob(".*.tmp-*"):
                shutil.rmtree(p, ignore_errors=True)
