"""JSONL dumps: one document per line holding a JSON object with a text field."""

from __future__ import annotations

from collections.abc import Iterator

from corpus.io import storage
from corpus.io.bounded import ReadLimits
from corpus.sources.inputs import InputRange
from corpus.sources.registry import Item, Located, Reader, register
from corpus.sources.tabular import read_jsonl_file


@register
class JsonlReader(Reader):
    kind = "jsonl"
    suffixes = (".jsonl", ".jsonl.gz", ".ndjson")
    locator_kind = "jsonl"
    locator_fragment = r"[0-9]+"
    description = "JSON Lines (gzip or not), text in the input's text_column; locator jsonl:<path>#<line>"

    def read(self, rng: InputRange, limits: ReadLimits) -> Iterator[Item]:
        yield from read_jsonl_file(rng.file)

    def reopen(self, location: str, fragment: str | None, text_column: str = "text") -> Located:
        import gzip

        with storage.open_read(location) as raw, (gzip.GzipFile(fileobj=raw) if location.lower().endswith(".gz") else raw) as fh:
            for lineno, line in enumerate(fh, 1):
                if lineno == int(fragment or 0):
                    return Located("jsonl", location, line.rstrip(b"\r\n"))
        raise LookupError(f"{location}: no line {fragment}")
