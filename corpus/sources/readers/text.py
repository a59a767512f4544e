"""Plain-text files: raw bytes, decoded by the extract stage with the same charset evidence as HTML,
so a Shift_JIS .txt dump records how its encoding was decided exactly as a Shift_JIS page does."""

from __future__ import annotations

from corpus.sources.readers.html import HtmlReader
from corpus.sources.registry import register


@register
class TextReader(HtmlReader):
    kind = "text"
    suffixes = (".txt",)
    description = "plain text, one document per file; locator file:<path>"
    media_type = "text/plain"
