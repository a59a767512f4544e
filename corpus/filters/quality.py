"""The quality stage: compute a profile's signals, keep them as ``q_*`` columns, apply its rules."""

from __future__ import annotations

from typing import Any, ClassVar

import pyarrow as pa

from corpus.filters.rules import Profile
from corpus.filters.signals import compute_signals
from corpus.stage import Rejection, RowStage


class QualityStage(RowStage):
    name: ClassVar[str] = "quality"

    def __init__(self, profile: Profile):
        self.profile = profile
        self._signals = profile.signals()

    def extra_fields(self) -> tuple[pa.Field, ...]:
        return tuple(pa.field(f"q_{s}", pa.float64()) for s in self._signals)

    def process_row(self, row: dict[str, Any]) -> dict[str, Any] | Rejection:
        values = compute_signals(row["text"], self._signals)
        for rule in self.profile.rules:
            if (why := rule.judge(values[rule.signal])) is not None:
                return why
        return {**row, **{f"q_{k}": v for k, v in values.items()}}
