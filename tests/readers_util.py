"""Reading inputs the way the pipeline plans them, for reader tests: expand, read every range, and
reopen locators against the inputs' roots."""

from __future__ import annotations

from pathlib import Path

from corpus.io.bounded import ReadLimits
from corpus.sources.read import expand_input, read_inputs
from corpus.sources.registry import Located, open_locator


def read(path: Path, source: str = "s", license: str = "l", limits: ReadLimits = ReadLimits(), **kw):
    """(rows, rejected rows, read counts, roots) of one spec input."""
    exp = expand_input(str(path), source, license, **kw)
    table, rejected, counts = read_inputs(exp.ranges, limits)
    roots = {f.path.partition("/")[0]: f.root for f in exp.files}
    return table.to_pylist(), rejected.to_pylist(), counts, roots


def reopen(locator: str, roots: dict[str, str], text_column: str = "text") -> Located:
    return open_locator(locator, roots, text_column)
