"""Row builders shared by the readers that produce text directly (JSONL, Parquet, law XML, PDF).

These readers decode while reading (JSON and Arrow strings are UTF-8 by definition, XML declares
its encoding, PDF text comes out of the text layer), so their rows arrive at the extract stage
with ``text`` already set and ``raw`` empty; the extract stage passes them through.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from corpus.document import make_doc_id, sha256_hex
from corpus.io import storage
from corpus.sources.inputs import InputFile
from corpus.stage import Rejection


def base_row(inp: InputFile, locator: str) -> dict[str, Any]:
    """Columns every row of ``inp`` carries; ``doc_id`` is added once the content is known."""
    return {"source": inp.source, "license": inp.license, "locator": locator, "input_path": inp.path}


def failed_row(inp: InputFile, locator: str, tag: str = "unreadable") -> dict[str, Any]:
    """A row for a rejection raised before any content hash exists (``tag`` stands in for it)."""
    return {**base_row(inp, locator), "doc_id": make_doc_id(locator, tag)}


def text_row(
    inp: InputFile,
    locator: str,
    text: str,
    raw_sha256: str,
    charset: str | None,
    evidence: str,
    content_type: str = "text/plain",
    **extra: Any,
) -> dict[str, Any]:
    """A document row whose text is already decoded; ``raw_sha256`` hashes the bytes it came from."""
    return {
        **base_row(inp, locator),
        "doc_id": make_doc_id(locator, raw_sha256),
        "content_type": content_type,
        "raw_sha256": raw_sha256,
        "charset": charset,
        "charset_evidence": evidence,
        "text": text,
        **extra,
    }


def read_whole_file(inp: InputFile, locator: str) -> bytes | tuple[dict[str, Any], Rejection]:
    """The file's bytes, or the (row, Rejection) item a reader yields when it cannot be read."""
    try:
        return storage.read_bytes(inp.location)
    except OSError as exc:
        return failed_row(inp, locator), Rejection("unreadable_file", detail=str(exc))


Item = dict[str, Any] | tuple[dict[str, Any], Rejection]


def whole_file_reader(kind: str) -> Callable[[Callable[..., Iterator[Item]]], Callable[[InputFile], Iterator[Item]]]:
    """Decorator for readers of one document per file (HTML, text, law XML, PDF).

    The wrapped function gets ``(inp, locator, data, digest)`` with locator ``<kind>:<path>``; an
    unreadable file becomes the ``unreadable_file`` rejection here, once for all of them.
    """

    def wrap(fn: Callable[..., Iterator[Item]]) -> Callable[[InputFile], Iterator[Item]]:
        @functools.wraps(fn)
        def reader(inp: InputFile) -> Iterator[Item]:
            locator = f"{kind}:{inp.path}"
            data = read_whole_file(inp, locator)
            if isinstance(data, tuple):
                yield data
                return
            yield from fn(inp, locator, data, sha256_hex(data))

        return reader

    return wrap
