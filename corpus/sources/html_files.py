"""Read HTML and plain-text files from disk as raw documents (bytes kept; decoding happens in extraction).

Plain text goes the same way as HTML on purpose: the extract stage then decodes it with the same
charset evidence chain (BOM, detection among CP932/EUC-JP/ISO-2022-JP), so a Shift_JIS .txt dump
records how its encoding was decided exactly as a Shift_JIS page does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from corpus.document import make_doc_id, sha256_hex
from corpus.sources.inputs import InputFile
from corpus.stage import Rejection


def read_raw_file(
    inp: InputFile, content_type: str
) -> Iterator[dict[str, Any] | tuple[dict[str, Any], Rejection]]:
    """Yield one raw document row for the file, or a (row, Rejection) when it cannot be read."""
    locator = f"file:{inp.path}"
    base = {"source": inp.source, "license": inp.license, "locator": locator, "input_path": inp.path}
    try:
        data = Path(inp.path).read_bytes()
    except OSError as exc:
        row = {**base, "doc_id": make_doc_id(locator, "unreadable")}
        yield row, Rejection("unreadable_file", detail=str(exc))
        return
    digest = sha256_hex(data)
    yield {
        **base,
        "doc_id": make_doc_id(locator, digest),
        "url": None,
        "content_type": content_type,
        "raw_sha256": digest,
        "raw": data,
    }


def read_html_file(inp: InputFile) -> Iterator[dict[str, Any] | tuple[dict[str, Any], Rejection]]:
    return read_raw_file(inp, "text/html")


def read_text_file(inp: InputFile) -> Iterator[dict[str, Any] | tuple[dict[str, Any], Rejection]]:
    return read_raw_file(inp, "text/plain")
