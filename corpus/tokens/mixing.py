"""Per-source mixing to a token budget, in the manner of dolma's mixer: decide copies per document.

A plan says, for every kept document, how many times it is written to the shards: 0 (down-sampled
away: the runner records it as a rejection, stage ``mix``, reason ``downsampled``), 1, or more
(up-sampled: whole extra passes over the source, then part of one more). Which documents make a
partial pass is decided by a seeded hash of the doc_id, so the plan depends only on the kept set
and the spec. The per-source figures go into the manifest under ``mixing``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass

import pyarrow as pa

from corpus.document import REJECT_SCHEMA, rejects_from_rows
from corpus.stage import Rejection, StageCounts, reject_row
from corpus.tokens.split import hash_key

STAGE = "mix"
REASON = "downsampled"


@dataclass(frozen=True)
class SourceMix:
    """What mixing did to one source (all token figures are tokens of the run's tokenizer)."""

    weight: float
    available_docs: int
    available_tokens: int
    target_tokens: int
    selected_docs: int
    selected_tokens: int
    rows: int
    repeated_docs: int
    downsampled_docs: int

    @property
    def epochs(self) -> float:
        return round(self.selected_tokens / self.available_tokens, 6) if self.available_tokens else 0.0


def source_targets(
    available: dict[str, int], weights: dict[str, float], default_weight: float, target_tokens: int | None
) -> dict[str, int]:
    """Tokens wanted per source: ``target * w / sum(w)`` with a budget, else ``available * w`` (epochs)."""
    w = {s: weights.get(s, default_weight) for s in available}
    if target_tokens is None:
        return {s: round(available[s] * w[s]) for s in available}
    total = sum(w.values())
    return {s: round(target_tokens * w[s] / total) if total else 0 for s in available}


def _copies_for(docs: list[tuple[bytes, int, int]], want: int, available: int) -> dict[int, int]:
    """Copies per document index: ``want // available`` full passes, then a hash-ordered part pass.

    The part pass takes documents until it reaches its share, so a source lands within one
    document of its target.
    """
    full, rest = divmod(want, available) if available else (0, 0)
    out = {i: full for _, i, _ in docs}
    taken = 0
    for _, i, n in sorted(docs):
        if taken >= rest:
            break
        out[i] += 1
        taken += n
    return out


def plan_mix(
    doc_ids: list[str],
    sources: list[str],
    n_tokens: list[int],
    weights: dict[str, float],
    default_weight: float = 1.0,
    target_tokens: int | None = None,
    seed: int = 0,
) -> tuple[list[int], dict[str, SourceMix]]:
    """Copies per document (aligned with the inputs) and the per-source record."""
    per_source: dict[str, list[tuple[bytes, int, int]]] = defaultdict(list)
    for i, (doc_id, source, n) in enumerate(zip(doc_ids, sources, n_tokens)):
        per_source[source].append((hash_key("mix", seed, doc_id), i, n))
    available = {s: sum(n for _, _, n in docs) for s, docs in sorted(per_source.items())}
    targets = source_targets(available, weights, default_weight, target_tokens)
    copies = [0] * len(doc_ids)
    report: dict[str, SourceMix] = {}
    for source, docs in sorted(per_source.items()):
        chosen = _copies_for(docs, targets[source], available[source])
        for i, k in chosen.items():
            copies[i] = k
        report[source] = SourceMix(
            weight=weights.get(source, default_weight),
            available_docs=len(docs),
            available_tokens=available[source],
            target_tokens=targets[source],
            selected_docs=sum(1 for k in chosen.values() if k),
            selected_tokens=sum(n * chosen[i] for _, i, n in docs),
            rows=sum(chosen.values()),
            repeated_docs=sum(1 for k in chosen.values() if k > 1),
            downsampled_docs=sum(1 for k in chosen.values() if k == 0),
        )
    return copies, report


def mixing_record(report: dict[str, SourceMix], target_tokens: int | None, seed: int) -> dict:
    """The manifest's ``mixing`` block."""
    return {
        "mode": "budget" if target_tokens is not None else "epochs",
        "target_tokens": target_tokens,
        "seed": seed,
        "selected_tokens": sum(m.selected_tokens for m in report.values()),
        "sources": {s: {**asdict(m), "epochs": m.epochs} for s, m in sorted(report.items())},
    }


def downsampled_rejections(index: pa.Table, copies: list[int]) -> pa.Table:
    """Rejection records (stage ``mix``) for the documents that got no copy."""
    rows = [
        reject_row(row, STAGE, Rejection(REASON, detail=f"source {row['source']!r} down-sampled to its mixing target"))
        for row, k in zip(index.to_pylist(), copies)
        if k == 0
    ]
    return rejects_from_rows(rows) if rows else REJECT_SCHEMA.empty_table()


@dataclass
class MixResult:
    """Everything the runner needs from mixing: copies per index row, manifest block, rejections, counts."""

    copies: list[int]
    record: dict
    rejected: pa.Table
    counts: StageCounts


def apply_mixing(index: pa.Table, mix) -> MixResult:
    """Mix the kept documents of ``index`` (doc_id, source, n_tokens, locator...) per ``mix`` (MixingSpec)."""
    copies, report = plan_mix(
        index.column("doc_id").to_pylist(), index.column("source").to_pylist(), index.column("n_tokens").to_pylist(),
        mix.weights, mix.default_weight, mix.target_tokens, mix.seed,
    )
    rejected = downsampled_rejections(index, copies)
    counts = StageCounts(index.num_rows, index.num_rows - rejected.num_rows)
    counts.rejected.update(rejected.column("reason").to_pylist())
    return MixResult(copies, mixing_record(report, mix.target_tokens, mix.seed), rejected, counts)
