"""The one shape every pipeline step has: an Arrow table in, kept rows and rejected rows out.

Stages are plain, picklable objects with no Ray in them, so tests call them directly and the Ray
runner ships the same objects to its workers. A stage never drops a row silently: a row it does not
keep comes back as a rejection with the stage name and a reason.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa

from corpus.document import REJECT_SCHEMA, rejects_from_rows, table_from_rows


@dataclass(frozen=True)
class Rejection:
    """Why a record was dropped. ``rule``/``value``/``threshold`` are set by score-based rules."""

    reason: str
    rule: str | None = None
    value: float | None = None
    threshold: float | None = None
    detail: str | None = None
    duplicate_of: str | None = None


@dataclass
class StageOutput:
    """What a stage returns: surviving rows and rejection records (REJECT_SCHEMA)."""

    kept: pa.Table
    rejected: pa.Table


@dataclass
class StageCounts:
    """Per-stage accounting: ``docs_in == docs_out + sum(rejected.values())`` always holds."""

    docs_in: int = 0
    docs_out: int = 0
    rejected: Counter = field(default_factory=Counter)

    def add(self, other: "StageCounts") -> None:
        self.docs_in += other.docs_in
        self.docs_out += other.docs_out
        self.rejected.update(other.rejected)

    def to_dict(self) -> dict[str, Any]:
        return {
            "in": self.docs_in,
            "out": self.docs_out,
            "rejected": dict(sorted(self.rejected.items())),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "StageCounts":
        return cls(d["in"], d["out"], Counter(d["rejected"]))


def reject_row(row: dict[str, Any], stage: str, why: Rejection) -> dict[str, Any]:
    """Turn a document row and a Rejection into a REJECT_SCHEMA row."""
    return {
        "doc_id": row["doc_id"],
        "source": row.get("source"),
        "locator": row["locator"],
        "url": row.get("url"),
        "input_path": row.get("input_path"),
        "stage": stage,
        "reason": why.reason,
        "rule": why.rule,
        "value": why.value,
        "threshold": why.threshold,
        "detail": why.detail,
        "duplicate_of": why.duplicate_of,
        "raw_sha256": row.get("raw_sha256"),
        "fetch_time": row.get("fetch_time"),
        "license": row.get("license"),
    }


class Stage(ABC):
    """A pipeline step over Arrow tables. Subclasses set ``name`` and implement ``process``."""

    name: ClassVar[str]

    @abstractmethod
    def process(self, table: pa.Table) -> StageOutput:
        """Return the rows that pass and a rejection record for every row that does not."""


class RowStage(Stage):
    """A stage that judges or rewrites one document at a time.

    ``process_row`` returns the (possibly updated) row to keep it, or a ``Rejection``. The output
    schema is the input schema plus ``added_fields``, so columns a stage computes (scores) stay data.
    """

    added_fields: ClassVar[tuple[pa.Field, ...]] = ()
    dropped_columns: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def process_row(self, row: dict[str, Any]) -> dict[str, Any] | Rejection:
        """Keep (returning the row) or reject one document."""

    def output_schema(self, schema: pa.Schema) -> pa.Schema:
        for f in self.extra_fields():
            if schema.get_field_index(f.name) < 0:
                schema = schema.append(f)
        for name in self.dropped_columns:
            if schema.get_field_index(name) >= 0:
                schema = schema.remove(schema.get_field_index(name))
        return schema

    def extra_fields(self) -> tuple[pa.Field, ...]:
        """Columns this stage adds; instance-level so configured stages can add per-rule scores."""
        return self.added_fields

    def process(self, table: pa.Table) -> StageOutput:
        kept: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        for row in table.to_pylist():
            try:
                result = self.process_row(row)
            except Exception as exc:  # one document's failure is that document's rejection
                result = stage_error(exc)
            if isinstance(result, Rejection):
                rejected.append(reject_row(row, self.name, result))
            else:
                kept.append(result)
        return StageOutput(table_from_rows(kept, self.output_schema(table.schema)), rejects_from_rows(rejected))


def stage_error(exc: BaseException) -> Rejection:
    """The rejection of a document a stage raised on: the exception's class and message."""
    return Rejection("stage_error", detail=f"{type(exc).__name__}: {exc}"[:500])


def run_stage(stage: Stage, table: pa.Table) -> StageOutput:
    """``stage.process(table)``, where an exception costs only the documents it is about.

    Row stages already contain failures per row. A table-level stage that raises is run again one
    row at a time, so the rows it does handle are kept and each row it raises on becomes a
    ``stage_error`` rejection; the run goes on.
    """
    try:
        return stage.process(table)
    except Exception:
        if not table.num_rows:
            raise
    kept, rejected = [], []
    for i in range(table.num_rows):
        one = table.slice(i, 1)
        try:
            out = stage.process(one)
        except Exception as exc:
            rejected.append(rejects_from_rows([reject_row(one.to_pylist()[0], stage.name, stage_error(exc))]))
            continue
        kept.append(out.kept)
        rejected.append(out.rejected)
    kept_table = pa.concat_tables(kept, promote_options="default") if kept else stage.process(table.slice(0, 0)).kept
    return StageOutput(kept_table, pa.concat_tables(rejected) if rejected else empty_rejects())


def run_row_stages(table: pa.Table, stages: list[RowStage], counts: dict[str, StageCounts]) -> StageOutput:
    """Consecutive row stages in one pass: each row converted to Python once, taken through every
    stage in order until one rejects it, and the survivors converted back once.

    Equivalent to running the stages one after the other (same kept rows, same rejection rows,
    same counts), without a table conversion per stage, which cost more than most stages' work.
    """
    schema = table.schema
    for stage in stages:
        schema = stage.output_schema(schema)
        counts.setdefault(stage.name, StageCounts())
    kept: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for row in table.to_pylist():
        for stage in stages:
            c = counts[stage.name]
            c.docs_in += 1
            try:
                result = stage.process_row(row)
            except Exception as exc:  # one document's failure is that document's rejection
                result = stage_error(exc)
            if isinstance(result, Rejection):
                rejected.append(reject_row(row, stage.name, result))
                c.rejected[result.reason] += 1
                break
            c.docs_out += 1
            row = result
        else:
            kept.append(row)
    return StageOutput(table_from_rows(kept, schema), rejects_from_rows(rejected))


def count_output(table_in: pa.Table, out: StageOutput) -> StageCounts:
    """Counts for one stage call; checks that nothing was lost on the way."""
    reasons = Counter(out.rejected.column("reason").to_pylist()) if out.rejected.num_rows else Counter()
    counts = StageCounts(table_in.num_rows, out.kept.num_rows, reasons)
    if counts.docs_in != counts.docs_out + sum(reasons.values()):
        raise AssertionError(
            f"stage lost records: in={counts.docs_in} out={counts.docs_out} rejected={sum(reasons.values())}"
        )
    return counts


def empty_rejects() -> pa.Table:
    return REJECT_SCHEMA.empty_table()
