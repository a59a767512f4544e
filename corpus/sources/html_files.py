"""Read HTML and plain-text files from disk as raw documents (bytes kept; decoding happens in extraction).

Plain text goes the same way as HTML on purpose: the extract stage then decodes it with the same
charset evidence chain (BOM, detection among CP932/EUC-JP/ISO-2022-JP), so a Shift_JIS .txt dump
records how its encoding was decided exactly as a Shift_JIS page does.
"""

from __future__ import annotations

from collections.abc import Iterator

from corpus.document import make_doc_id
from corpus.sources.inputs import InputFile
from corpus.sources.rows import Item, base_row, whole_file_reader


def _raw_row(inp: InputFile, locator: str, data: bytes, digest: str, content_type: str) -> dict:
    return {
        **base_row(inp, locator),
        "doc_id": make_doc_id(locator, digest),
        "url": None,
        "content_type": content_type,
        "raw_sha256": digest,
        "raw": data,
    }


@whole_file_reader("file")
def read_html_file(inp: InputFile, locator: str, data: bytes, digest: str) -> Iterator[Item]:
    yield _raw_row(inp, locator, data, digest, "text/html")


@whole_file_reader("file")
def read_text_file(inp: InputFile, locator: str, data: bytes, digest: str) -> Iterator[Item]:
    yield _raw_row(inp, locator, data, digest, "text/plain")
