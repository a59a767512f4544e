"""The quality stage: compute a profile's signals, keep them as ``q_*`` columns, apply its rules.

Rules run cheapest first (see ``signals.TIERS``) and a document stops at its first failed rule,
so MeCab parses only documents that passed every character-level rule. Every signal of every
family the profile uses becomes a ``q_<signal>`` column on kept documents (all computed, since a
kept document passed every rule); a rejection records the rule, the measured value and the
threshold, so a threshold can be re-applied later without recomputing.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pyarrow as pa

from corpus.filters.rules import Profile
from corpus.filters.signals import TextView, compute_family, family_signals
from corpus.stage import Rejection, RowStage


class QualityStage(RowStage):
    name: ClassVar[str] = "quality"

    def __init__(self, profile: Profile):
        self.profile = profile
        self._rules = profile.rules_by_cost()
        self._columns = family_signals(profile.signals())

    def extra_fields(self) -> tuple[pa.Field, ...]:
        return tuple(pa.field(f"q_{s}", pa.float64()) for s in self._columns)

    def process_row(self, row: dict[str, Any]) -> dict[str, Any] | Rejection:
        view = TextView(row["text"])
        values: dict[str, float] = {}
        for rule in self._rules:
            compute_family(view, rule.signal, values)
            if (why := rule.judge(values[rule.signal])) is not None:
                return why
        return {**row, **{f"q_{k}": values.get(k) for k in self._columns}}


def rejudge(table: pa.Table, profile: Profile) -> list[tuple[str, Rejection]]:
    """Re-apply ``profile`` to already-scored documents from their ``q_*`` columns alone.

    No text is read and nothing is parsed: this is how a new threshold is tried on a finished
    run's shards. Returns (doc_id, first failed rule) for documents the profile would now drop.
    A rule whose signal has no column cannot be judged this way and raises ``KeyError``.
    """
    missing = sorted({r.signal for r in profile.rules} - {c[2:] for c in table.schema.names if c.startswith("q_")})
    if missing:
        raise KeyError(f"no q_ column for signal(s) {missing}: recompute with QualityStage")
    rules = profile.rules_by_cost()
    out = []
    for row in table.select(["doc_id", *{f"q_{r.signal}" for r in rules}]).to_pylist():
        for rule in rules:
            if (why := rule.judge(row[f"q_{rule.signal}"])) is not None:
                out.append((row["doc_id"], why))
                break
    return out
