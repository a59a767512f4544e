"""Keep the ``locator`` patterns in manifests/*.schema.json equal to what the reader registry says.

The JSON Schemas are files an auditor reads (and validates output with) without running this
code, so the pattern is written into them rather than computed at load time; this module
regenerates it from ``registry.locator_pattern()`` and a test checks the files are current.

    python -m corpus.sources.locator_schema          # rewrite the patterns
    python -m corpus.sources.locator_schema --check  # exit 1 (naming the files) if any is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from corpus.resources import resource_dir
from corpus.sources.registry import locator_pattern

#: Row schemas whose ``locator`` property carries the pattern.
ROW_SCHEMAS = ("shard-row.schema.json", "rejected-row.schema.json", "provenance-row.schema.json")


def regenerated(text: str, pattern: str) -> str:
    """``text`` (a schema file) with its locator pattern replaced, every other byte kept."""
    start = text.index('"locator": {')
    key = text.index('"pattern": ', start)
    value_start = key + len('"pattern": ')
    old, end = json.JSONDecoder().raw_decode(text, value_start)
    if not isinstance(old, str):
        raise ValueError("locator pattern is not a string")
    return text[:value_start] + json.dumps(pattern, ensure_ascii=False) + text[end:]


def stale_schemas(directory: Path | None = None) -> dict[Path, str]:
    """Schema files whose locator pattern differs from the registry's, with their regenerated text."""
    directory = directory or resource_dir("manifests")
    pattern = locator_pattern()
    out = {}
    for name in ROW_SCHEMAS:
        path = directory / name
        text = path.read_text(encoding="utf-8")
        new = regenerated(text, pattern)
        if new != text:
            out[path] = new
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale schema files (exit 1 if any)")
    parser.add_argument("--dir", type=Path, default=None, help="schema folder (default: manifests/)")
    args = parser.parse_args(argv)
    stale = stale_schemas(args.dir)
    for path, text in stale.items():
        if args.check:
            print(f"stale locator pattern: {path}")
        else:
            path.write_text(text, encoding="utf-8")
            print(f"updated {path}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
