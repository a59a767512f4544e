"""Read one input in a fresh process and report what came out and the process's peak memory.

Run by tests/test_reader_limits.py as ``python tests/peak_read.py PATH DOC_LIMIT LINE_LIMIT
[TEXT_COLUMN]``. The peak is the kernel's high-water mark of resident memory (VmHWM), reset
after planning and imports (/proc/self/clear_refs), so it measures the read alone.
"""

from __future__ import annotations

import json
import sys


def _status_kb(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def main() -> None:
    import pypdf  # noqa: F401  (imported before measuring: the PDF reader imports it lazily)

    from corpus.io.bounded import ReadLimits
    from corpus.sources.read import expand_input, read_range

    path, doc_limit, line_limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    column = sys.argv[4] if len(sys.argv) > 4 else "text"
    ranges = expand_input(path, "s", "l", text_column=column).ranges
    limits = ReadLimits(doc_limit, line_limit)
    with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
        fh.write("5")
    base = _status_kb("VmRSS")
    kept, rejected = [], []
    for rng in ranges:
        for item in read_range(rng, limits):
            if isinstance(item, tuple):
                row, why = item
                rejected.append({"locator": row["locator"], "url": row.get("url"), "reason": why.reason, "rule": why.rule,
                                 "value": why.value, "threshold": why.threshold, "detail": why.detail})
            else:
                kept.append({"locator": item["locator"], "url": item.get("url"), "size": len(item.get("text") or item.get("raw") or b"")})
    print(json.dumps({"kept": kept, "rejected": rejected, "base_kb": base, "peak_kb": _status_kb("VmHWM")}))


if __name__ == "__main__":
    main()
