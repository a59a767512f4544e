"""Evaluation sets as decontamination reads them: local JSONL, Parquet or CSV files, or a directory.

Each record is an item with a text field and an optional id field; the id defaults to
``<file>:<record number>``. Reading is strict: a line that is not JSON or a record without its text
is an ``EvalSetError`` naming the file and record, raised while the spec is validated.
"""

from __future__ import annotations

import csv
import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.io.hashing import file_sha256, object_sha256

EVAL_SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet", ".csv")


class EvalSetError(ValueError):
    """An evaluation set that cannot be read: the message names the file and the record."""


@dataclass(frozen=True)
class EvalSet:
    """One named evaluation set: its files (sorted) and which fields hold the text and the item id."""

    name: str
    path: Path
    text_field: str = "text"
    id_field: str | None = None

    def files(self) -> list[Path]:
        if self.path.is_dir():
            found = sorted(p for p in self.path.rglob("*") if p.is_file() and p.name.lower().endswith(EVAL_SUFFIXES))
            if not found:
                raise EvalSetError(f"{self.path}: no {', '.join(EVAL_SUFFIXES)} files in this directory")
            return found
        if not self.path.is_file():
            raise EvalSetError(f"{self.path}: not found")
        if not self.path.name.lower().endswith(EVAL_SUFFIXES):
            raise EvalSetError(f"{self.path}: not an evaluation file (expected one of {', '.join(EVAL_SUFFIXES)})")
        return [self.path]

    def items(self) -> Iterator[tuple[str, str]]:
        """``(item id, text)`` of every record; the id defaults to ``<file>:<record number>``."""
        for f in self.files():
            rel = f.relative_to(self.path).as_posix() if self.path.is_dir() else f.name
            for n, record in enumerate(_records(f), start=1):
                where = f"{f}: record {n}"
                if not isinstance(record, dict):
                    raise EvalSetError(f"{where}: not an object")
                text = record.get(self.text_field)
                if not isinstance(text, str):
                    raise EvalSetError(f"{where}: field {self.text_field!r} missing or not text")
                item_id = record.get(self.id_field) if self.id_field else None
                if self.id_field and item_id in (None, ""):
                    raise EvalSetError(f"{where}: id field {self.id_field!r} missing")
                yield (str(item_id) if self.id_field else f"{rel}:{n}"), text

    def sha256(self) -> str:
        """One hash of the set's bytes: the sha256 of its files' sha256 list (one file: a list of one)."""
        return object_sha256([file_sha256(f) for f in self.files()])

    def record(self) -> dict[str, Any]:
        """What the manifest says about the set: its files with sha256 and its item count."""
        return {
            "name": self.name,
            "path": str(self.path),
            "text_field": self.text_field,
            "id_field": self.id_field,
            "files": [{"path": str(f), "bytes": f.stat().st_size, "sha256": file_sha256(f)} for f in self.files()],
            "sha256": self.sha256(),
            "items": sum(1 for _ in self.items()),
        }


def _records(path: Path) -> Iterator[Any]:
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            for batch in pq.ParquetFile(path).iter_batches():
                yield from batch.to_pylist()
        elif name.endswith(".csv"):
            with open(path, encoding="utf-8-sig", newline="") as fh:
                yield from csv.DictReader(fh)
        else:
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8") as fh:
                for n, line in enumerate(fh, start=1):
                    if line.strip():
                        try:
                            yield json.loads(line)
                        except json.JSONDecodeError as exc:
                            raise EvalSetError(f"{path}: line {n}: not JSON ({exc.msg})") from None
    except (OSError, UnicodeDecodeError, pa.ArrowException) as exc:
        raise EvalSetError(f"{path}: cannot be read ({type(exc).__name__}: {str(exc)[:200]})") from None

