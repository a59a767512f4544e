"""JSON Lines dumps: one document per line holding a JSON object with a string text field.

Locators are ``jsonl:<path>#<line>`` (1-based, as an editor shows it), so a document can be found
again in the dump it came from. A bad line, a line without the text field, or a line longer than
``[limits] max_line_bytes`` is a rejection and the rest of the file is still read; an over-long
line is skipped to its end without being held. Optional ``url`` and ``title`` string fields are
carried over.

An uncompressed file splits into ranges at line starts: planning hashes the file and counts lines
in the same pass, so each range knows the number of its first line and the locators are the same
however the file was split. ``.jsonl.gz`` is read whole (a gzip stream has no cut points).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from corpus.document import sha256_hex
from corpus.io import storage
from corpus.io.bounded import Buffered, Line, ReadLimits, TooLarge, bounded_lines
from corpus.sources.inputs import InputRange
from corpus.sources.registry import Located, Plan, Reader, register
from corpus.sources.rows import Item, Origin, failure, too_large
from corpus.stage import Rejection


def _gzipped(location: str) -> bool:
    return location.lower().endswith(".gz")


@contextmanager
def _open(location: str, start: int = 0) -> Iterator[Any]:
    with storage.open_read(location) as raw:
        if _gzipped(location):
            with gzip.GzipFile(fileobj=raw) as fh:
                yield fh
        else:
            raw.seek(start)
            yield Buffered(raw.read, start)


def _str_field(obj: dict, key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def line_cuts(location: str, size: int, target_bytes: int) -> Plan:
    """sha256 of the file and ranges starting at the first line start past every ``target_bytes``,
    each with the number of its first line, in one pass over the file."""
    h = hashlib.sha256()
    starts = [(0, 1)]
    pos = newlines = 0
    next_cut = target_bytes if 0 < target_bytes < size else None
    for block in storage.iter_file(location):
        h.update(block)
        while next_cut is not None and next_cut < pos + len(block) + 1:
            j = block.find(b"\n", max(next_cut - 1 - pos, 0))
            if j < 0:
                break
            cut = pos + j + 1
            if cut >= size:
                next_cut = None
                break
            starts.append((cut, newlines + block.count(b"\n", 0, j + 1) + 1))
            next_cut = cut + target_bytes
        newlines += block.count(b"\n")
        pos += len(block)
    ends = [s for s, _ in starts[1:]] + [None]
    return Plan(h.hexdigest(), tuple((start, end, first) for (start, first), end in zip(starts, ends)))


@register
class JsonlReader(Reader):
    kind = "jsonl"
    suffixes = (".jsonl", ".jsonl.gz", ".ndjson")
    locator_kind = "jsonl"
    locator_fragment = r"[0-9]+"
    description = "JSON Lines (gzip or not), text in the input's text_column; locator jsonl:<path>#<line>"

    def plan(self, location: str, size: int, target_bytes: int) -> Plan:
        return super().plan(location, size, target_bytes) if _gzipped(location) else line_cuts(location, size, target_bytes)

    def range_locator(self, rng: InputRange) -> str:
        return f"jsonl:{rng.file.path}#{rng.first_line}"

    def read(self, rng: InputRange, limits: ReadLimits) -> Iterator[Item]:
        """One row per non-blank line starting in the range."""
        f = rng.file
        origin = Origin.of_file(f, self.locator_kind)
        number = rng.first_line
        try:
            with _open(f.location, rng.start) as fh:
                for line in bounded_lines(fh, limits.max_line_bytes, rng.start, rng.end, rng.first_line):
                    number = line.number
                    item = self._line(line, origin, f.text_column, limits)
                    if item is not None:
                        yield item
        except (OSError, EOFError, zlib.error) as exc:  # unreadable file or a broken .gz stream: later lines are lost
            where = f"jsonl:{f.path}#{number + 1}"
            yield origin.reject(failure("unreadable_file", exc), locator=where)

    def _line(self, line: Line, origin: Origin, column: str, limits: ReadLimits) -> Item | None:
        locator = f"jsonl:{origin.file.path}#{line.number}"
        if line.content is None:
            exc = TooLarge(line.length, limits.max_line_bytes, f"line {line.number}", "max_line_bytes")
            return origin.reject(too_large(exc), locator=locator, tag="too_large")
        body = line.content
        if not body.strip():
            return None
        digest = sha256_hex(body)
        try:
            obj: Any = json.loads(body.decode("utf-8-sig" if line.number == 1 else "utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            return origin.reject(failure("jsonl_bad_line", exc), locator=locator, raw_sha256=digest)
        if not isinstance(obj, dict) or _str_field(obj, column) is None:
            return origin.reject(Rejection("missing_text_column", detail=f"line has no string field {column!r}"), locator=locator, raw_sha256=digest)
        return origin.text_row(
            locator, obj[column], digest, "utf-8", "jsonl:utf-8",
            url=_str_field(obj, "url"), title=_str_field(obj, "title"), input_offset=line.number,
        )

    def reopen(self, location: str, fragment: str | None, text_column: str = "text") -> Located:
        wanted = int(fragment or 0)
        with _open(location) as fh:
            for line in bounded_lines(fh, ReadLimits().max_line_bytes):
                if line.number == wanted:
                    if line.content is None:
                        raise TooLarge(line.length, ReadLimits().max_line_bytes, f"line {wanted}", "max_line_bytes")
                    return Located("jsonl", location, line.content)
        raise LookupError(f"{location}: no line {fragment}")
