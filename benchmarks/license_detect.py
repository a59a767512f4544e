"""Licence detection cost vs extraction, on the same real pages, in one process.

The licence stage runs on every document before extraction, so it must be cheap next to it.
Prints MB/s of licence detection (decode + detect), of extraction (decode + trafilatura), and
the ratio. Run from the repository root:

    PYTHONPATH=. python benchmarks/license_detect.py [../shared/data]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from corpus.extract.charset import decode_bytes
from corpus.extract.html import extract_html
from corpus.filters.license_detect import detect


def pages(shared: Path) -> list[bytes]:
    files = sorted((shared / "gov_html/digital_agency_note_2021").glob("*.html"))
    files += sorted((shared / "law_html/lawegov_2013_sjis/html").glob("*.html"))[:60]
    files += sorted((shared / "law_html/egov_2025_utf8").glob("*.html"))[:6]
    return [f.read_bytes() for f in files]


def timed(fn, data: list[bytes], repeat: int) -> float:
    t0 = time.perf_counter()
    for _ in range(repeat):
        for raw in data:
            fn(raw)
    return time.perf_counter() - t0


def main() -> None:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/data")
    data = pages(shared)
    mb = sum(len(d) for d in data) / 1e6
    license_s = timed(lambda raw: detect(decode_bytes(raw).text), data, 3) / 3
    extract_s = timed(lambda raw: extract_html(decode_bytes(raw).text), data, 1)
    print(f"pages {len(data)}, {mb:.1f} MB")
    print(f"licence detection (decode+detect): {license_s:.2f} s, {mb / license_s:.1f} MB/s")
    print(f"extraction (decode+trafilatura):  {extract_s:.2f} s, {mb / extract_s:.1f} MB/s")
    print(f"licence detection costs {license_s / extract_s:.1%} of extraction")


if __name__ == "__main__":
    main()
