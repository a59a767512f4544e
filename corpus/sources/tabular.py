"""Read JSONL and Parquet dumps with a configurable text column, one document per line / row.

Locators are ``jsonl:<path>#<line>`` (1-based line number, as an editor shows it) and
``parquet:<path>#<row>`` (0-based row index across row groups), so a document can be found again
in the dump it came from. A bad line or a row without text is a rejection; the rest of the file
is still read. Optional ``url`` and ``title`` fields are carried over when they are strings.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any


from corpus.document import sha256_hex
from corpus.io import storage
from corpus.sources.inputs import InputFile
from corpus.sources.rows import failed_row, text_row
from corpus.stage import Rejection

Item = dict[str, Any] | tuple[dict[str, Any], Rejection]


def _str_field(obj: dict, key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def read_jsonl_file(inp: InputFile) -> Iterator[Item]:
    """One row per non-blank line holding a JSON object with a string ``text_column``."""
    lineno = 0
    try:
        with storage.open_read(inp.location) as raw, (gzip.GzipFile(fileobj=raw) if inp.path.lower().endswith(".gz") else raw) as fh:
            for lineno, line in enumerate(fh, 1):
                body = line.rstrip(b"\r\n")
                if not body.strip():
                    continue
                locator = f"jsonl:{inp.path}#{lineno}"
                digest = sha256_hex(body)
                try:
                    obj = json.loads(body.decode("utf-8-sig" if lineno == 1 else "utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    yield failed_row(inp, locator, digest), Rejection("jsonl_bad_line", detail=f"{type(exc).__name__}: {exc}"[:500])
                    continue
                if not isinstance(obj, dict) or _str_field(obj, inp.text_column) is None:
                    yield failed_row(inp, locator, digest), Rejection(
                        "missing_text_column", detail=f"line has no string field {inp.text_column!r}"
                    )
                    continue
                yield text_row(
                    inp, locator, obj[inp.text_column], digest, "utf-8", "jsonl:utf-8",
                    url=_str_field(obj, "url"), title=_str_field(obj, "title"), input_offset=lineno,
                )
    except (OSError, EOFError) as exc:  # unreadable file or a broken .gz stream: later lines are lost
        locator = f"jsonl:{inp.path}#{lineno + 1}"
        yield failed_row(inp, locator), Rejection("unreadable_file", detail=f"{type(exc).__name__}: {exc}"[:500])


def read_parquet_file(inp: InputFile) -> Iterator[Item]:
    """One row per Parquet row; a file without the text column is one rejection for the whole file."""
    try:
        pf = storage.parquet_file(inp.location)
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for non-Parquet bytes
        yield failed_row(inp, f"parquet:{inp.path}"), Rejection("unreadable_file", detail=f"{type(exc).__name__}: {exc}"[:500])
        return
    names = pf.schema_arrow.names
    col = inp.text_column
    if col not in names:
        yield failed_row(inp, f"parquet:{inp.path}", "no-text-column"), Rejection(
            "missing_text_column", detail=f"no column {col!r} (columns: {names[:20]})"
        )
        return
    extra = [c for c in ("url", "title") if c in names and c != col]
    index = 0
    for batch in pf.iter_batches(columns=[col, *extra]):
        data = batch.to_pydict()
        for i, text in enumerate(data[col]):
            locator = f"parquet:{inp.path}#{index}"
            if not isinstance(text, str):
                yield failed_row(inp, locator, "missing-text"), Rejection(
                    "missing_text_column", detail=f"row {index}: {col!r} is {type(text).__name__}"
                )
            else:
                fields = {c: data[c][i] if isinstance(data[c][i], str) else None for c in extra}
                yield text_row(
                    inp, locator, text, sha256_hex(text.encode("utf-8")), "utf-8", "parquet:utf-8",
                    input_offset=index, **fields,
                )
            index += 1
