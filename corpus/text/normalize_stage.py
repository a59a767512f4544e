"""The normalise stage: normalised text, its sha256 (exact-dedup key) and its length."""

from __future__ import annotations

from typing import Any, ClassVar

from corpus.document import sha256_hex
from corpus.stage import Rejection, RowStage
from corpus.text.normalize import NormalForm, normalize_text


class NormalizeStage(RowStage):
    name: ClassVar[str] = "normalize"

    def __init__(self, form: NormalForm = "NFKC", japanese_punctuation: bool = False):
        self.form = form
        self.japanese_punctuation = japanese_punctuation

    def process_row(self, row: dict[str, Any]) -> dict[str, Any] | Rejection:
        text = normalize_text(row.get("text") or "", self.form, self.japanese_punctuation)
        if not text:
            return Rejection("empty_after_normalization")
        return {**row, "text": text, "text_sha256": sha256_hex(text.encode("utf-8")), "n_chars": len(text)}
