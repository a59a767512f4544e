"""Count tokens with the target model's sentencepiece tokenizer, a batch at a time."""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
import sentencepiece as spm

from corpus.document import sha256_hex
from corpus.stage import Stage, StageOutput, empty_rejects


class TokenCounter:
    """A loaded sentencepiece model; pickles as its file path so Ray workers reload it locally."""

    def __init__(self, model_path: str):
        self.model_path = model_path
        self._sp: spm.SentencePieceProcessor | None = None

    def __getstate__(self) -> dict:
        return {"model_path": self.model_path, "_sp": None}

    @property
    def processor(self) -> spm.SentencePieceProcessor:
        if self._sp is None:
            self._sp = spm.SentencePieceProcessor(model_file=self.model_path)
        return self._sp

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids; one batched encode call (sentencepiece parallelises it internally)."""
        return self.processor.encode(texts)

    def count(self, texts: list[str]) -> list[int]:
        """Token counts of ``encode`` (the ids are the same ones a shard's ``input_ids`` holds)."""
        return [len(ids) for ids in self.encode(texts)]


def model_sha256(model_path: str) -> str:
    with open(model_path, "rb") as fh:
        return sha256_hex(fh.read())


class TokenCountStage(Stage):
    """Adds ``n_tokens``; rejects nothing (a document with text always has a count)."""

    name: ClassVar[str] = "tokens"

    def __init__(self, model_path: str, batch_size: int = 256):
        self.counter = TokenCounter(model_path)
        self.batch_size = batch_size

    def process(self, table: pa.Table) -> StageOutput:
        texts = table.column("text").to_pylist()
        counts: list[int] = []
        for i in range(0, len(texts), self.batch_size):
            counts.extend(self.counter.count(texts[i : i + self.batch_size]))
        idx = table.schema.get_field_index("n_tokens")
        column = pa.array(counts, pa.int64())
        table = table.set_column(idx, "n_tokens", column) if idx >= 0 else table.append_column("n_tokens", column)
        return StageOutput(table, empty_rejects())
