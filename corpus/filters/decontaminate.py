"""Benchmark decontamination as a pipeline stage: documents that contain evaluation items are
rejected (or lose the matching spans), with the set, the item id and the matched text as evidence.

The matching itself is corpus/filters/overlap_index.py; the evaluation files corpus/filters/eval_sets.py.
This module is the stage, and the manifest record of what it removed (docs/decontamination.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from corpus.document import REJECT_SCHEMA, rejects_from_rows, sha256_hex
from corpus.filters.eval_sets import EvalSet
from corpus.filters.overlap_index import local_index_dir, Index, Match, Method, detectable_items, find_matches, index_arrays
from corpus.stage import Rejection, Stage, StageOutput, reject_row
from corpus.text.normalize import normalize_text

STAGE = "decontaminate"
REASON = "contaminated"
#: Kept documents that lost a span say which items, in this column (``action = "remove_span"``).
SPANS_COLUMN = "decontam_removed"
#: Evidence per document: this many matches.
MAX_MATCHES = 5


def remove_spans(text: str, matches: list[Match]) -> str:
    """``text`` without every matched span (overlapping spans merged), lines re-joined."""
    spans = sorted(s for m in matches for s in m.spans)
    parts, at = [], 0
    for a, b in spans:
        if a > at:
            parts.append(text[at:a])
        at = max(at, b)
    parts.append(text[at:])
    return normalize_text("".join(parts), form="none")


class DecontaminateStage(Stage):
    """Reject documents that contain evaluation items (or cut the items out, ``remove_span``).

    A rejection names the strongest match in ``rule`` (the set), ``value`` (the share of the item's
    n-grams found) and ``threshold`` (``min_overlap``); ``detail`` is JSON with up to five matches:
    set, item id, overlap and the matched text, which ``corpus inspect`` shows.
    """

    name: ClassVar[str] = STAGE

    def __init__(self, index_path: str, method: Method, action: str = "reject"):
        self.index_path = index_path
        self.method = method
        self.action = action
        self._index: Index | None = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_index": None}

    @property
    def index(self) -> Index:
        if self._index is None:
            self._index = Index(local_index_dir(self.index_path))
        return self._index

    def process(self, table: pa.Table) -> StageOutput:
        keep: list[int] = []
        rejected: list[dict[str, Any]] = []
        texts = table.column("text").to_pylist()
        new_texts: dict[int, tuple[str, str]] = {}
        for i, text in enumerate(texts):
            matches = find_matches(text or "", self.index, self.method, None if self.action == "remove_span" else MAX_MATCHES)
            if not matches:
                keep.append(i)
                continue
            evidence = json.dumps([m.evidence(text) for m in matches[:MAX_MATCHES]], ensure_ascii=False)
            if self.action == "remove_span":
                new_texts[i] = (remove_spans(text, matches), evidence)
                keep.append(i)
            else:
                best = matches[0]
                why = Rejection(REASON, rule=best.set, value=round(best.overlap, 4), threshold=self.method.min_overlap, detail=evidence)
                rejected.append(reject_row(table.slice(i, 1).to_pylist()[0], STAGE, why))
        kept = table.take(pa.array(keep, pa.int64()))
        if self.action == "remove_span":
            kept = _with_removed_spans(kept, [new_texts.get(i) for i in keep])
        return StageOutput(kept, rejects_from_rows(rejected) if rejected else REJECT_SCHEMA.empty_table())


def _with_removed_spans(table: pa.Table, changes: list[tuple[str, str] | None]) -> pa.Table:
    """Replace text (and its hash and length) where spans were cut; record the evidence column."""
    texts = table.column("text").to_pylist()
    shas = table.column("text_sha256").to_pylist()
    chars = table.column("n_chars").to_pylist()
    evidence: list[str | None] = []
    for i, change in enumerate(changes):
        if change is None:
            evidence.append(None)
            continue
        texts[i], ev = change
        shas[i] = sha256_hex(texts[i].encode("utf-8"))
        chars[i] = len(texts[i])
        evidence.append(ev)
    for name, values, typ in (("text", texts, pa.string()), ("text_sha256", shas, pa.string()), ("n_chars", chars, pa.int64())):
        table = table.set_column(table.schema.get_field_index(name), name, pa.array(values, typ))
    column = pa.array(evidence, pa.string())
    idx = table.schema.get_field_index(SPANS_COLUMN)
    return table.set_column(idx, SPANS_COLUMN, column) if idx >= 0 else table.append_column(SPANS_COLUMN, column)


def _sets_in(evidence: str | None) -> set[str]:
    try:
        return {m["set"] for m in json.loads(evidence or "[]")}
    except (ValueError, TypeError, KeyError):
        return set()


def decontamination_record(settings: dict[str, Any], sets: list[EvalSet], counts: dict[str, Any], recorded_path: Any = str) -> dict[str, Any]:
    """The manifest's ``decontamination`` block: the method, every set checked (files, sha256,
    items, and how many of them are long enough to be found at all: the index is recomputed, a
    few seconds for 10^5 items) and how many documents each removed (rejected) or cut (``remove_span``), counted from
    the rejection rows and the shards' ``decontam_removed`` column (``counts``: ``removal_counts`` of
    those, computed by the run summary; a document is counted under every set among its recorded matches)."""
    method = Method(settings["ngram"], settings["min_overlap"], settings["min_ngrams"], settings["max_item_frequency"])
    detectable = detectable_items(index_arrays(sets, method), method)
    out_sets = []
    for s in sets:
        rec = s.record()
        rec["path"] = recorded_path(s.path)
        for f in rec["files"]:
            f["path"] = recorded_path(Path(f["path"]))
        rec["items_detectable"] = detectable.get(s.name, 0)
        rec.update(counts["sets"].get(s.name, {"documents_rejected": 0, "documents_cut": 0}))
        out_sets.append(rec)
    return {
        **{k: v for k, v in settings.items() if k != "sets"},
        "sets": out_sets,
        "documents_rejected": counts["documents_rejected"],
        "documents_cut": counts["documents_cut"],
    }


def removal_counts(rejected: list[dict[str, Any]], kept: list[dict[str, Any]]) -> dict[str, Any]:
    """Documents rejected and cut, in total and per set, from rejection rows and kept shard rows
    (what ``corpus audit`` recomputes against the manifest)."""
    removed = [_sets_in(r.get("detail")) for r in rejected if r.get("stage") == STAGE]
    cut = [_sets_in(r.get(SPANS_COLUMN)) for r in kept if r.get(SPANS_COLUMN)]
    names = sorted(set().union(*removed, *cut))
    return {
        "documents_rejected": len(removed),
        "documents_cut": len(cut),
        "sets": {n: {"documents_rejected": sum(n in x for x in removed), "documents_cut": sum(n in x for x in cut)} for n in names},
    }
