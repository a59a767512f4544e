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
