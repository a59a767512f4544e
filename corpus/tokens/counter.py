"""Count tokens with the target model's tokenizer (any kind, corpus/tokens/tokenizer.py), a batch at a time."""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa

from corpus.stage import Stage, StageOutput, empty_rejects
from corpus.tokens.tokenizer import Tokenizer


class TokenCountStage(Stage):
    """Adds ``n_tokens``; rejects nothing (a document with text always has a count)."""

    name: ClassVar[str] = "tokens"

    def __init__(self, tokenizer: Tokenizer, batch_size: int = 256):
        self.tokenizer = tokenizer
        self.batch_size = batch_size

    def process(self, table: pa.Table) -> StageOutput:
        texts = table.column("text").to_pylist()
        counts: list[int] = []
        for i in range(0, len(texts), self.batch_size):
            counts.extend(self.tokenizer.count(texts[i : i + self.batch_size]))
        idx = table.schema.get_field_index("n_tokens")
        column = pa.array(counts, pa.int64())
        table = table.set_column(idx, "n_tokens", column) if idx >= 0 else table.append_column("n_tokens", column)
        return StageOutput(table, empty_rejects())
