"""Whole-pipeline throughput on real pages, against trafilatura alone on the same pages.

Run from the repository root:

    PYTHONPATH=$PWD python benchmarks/pipeline.py [--repeat 2]

Pages: the 127 Shift_JIS law.e-gov.go.jp pages (Dec 2013), the 17 UTF-8 e-Gov 2025 exports and
the 6 Digital Agency note pages of ../shared/data (150 pages, 13.6 MB of HTML). The baseline is
the step that dominates a run, done bare in this process: decode each page and call
``trafilatura.extract`` on it, one after the other. The pipeline runs the default profile
(swallow-v1) and everything else a run does (licence, charset, extraction, normalisation, quality
with MeCab, token counts, MinHash signatures, exact and near dedup, shards, provenance, Croissant,
report) through the embedded Ray, with 1 and then 2 partition workers; Ray is started before the
timings. Prints pages/s and MB/s of the documents phase (every partition read, extracted, judged
and checkpointed) and of the whole run, the documents phase's time over the baseline's, the
2-worker speed-up, and the fixed cost of the run-wide steps after it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import trafilatura

from corpus.extract.charset import decode_bytes
from corpus.pipeline.pool import init_ray
from corpus.pipeline.runner import run_pipeline
from corpus.pipeline.spec import load_spec

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CORPUS_SHARED_DATA", REPO.parent / "shared" / "data"))
INPUTS = [
    ("law_html/lawegov_2013_sjis/html", "lawegov-2013", "LicenseRef-JP-Copyright-Art13"),
    ("law_html/egov_2025_utf8", "egov-2025", "LicenseRef-JP-Copyright-Art13"),
    ("gov_html/digital_agency_note_2021", "digital-agency-note", "LicenseRef-JP-GSTU-2.0"),
]


def pages() -> list[Path]:
    return sorted(p for rel, _, _ in INPUTS for p in (SHARED / rel).glob("*.html"))


def extract_alone(files: list[Path]) -> float:
    t0 = time.perf_counter()
    for f in files:
        text = decode_bytes(f.read_bytes()).text
        trafilatura.extract(text, include_tables=True, favor_recall=True)
    return time.perf_counter() - t0


def write_spec(path: Path, workers: int) -> Path:
    blocks = "".join(
        f'[[inputs]]\npath = "{SHARED / rel}"\nsource = "{source}"\nlicense = "{lic}"\n\n' for rel, source, lic in INPUTS
    )
    path.write_text(
        f'[pipeline]\nname = "bench"\n\n{blocks}[tokenizer]\nmodel = "{REPO / "tokenizer-models" / "sample.model"}"\n\n'
        f"[partitioning]\nmax_files = 8\n\n[ray.documents]\nconcurrency = {workers}\n",
        encoding="utf-8",
    )
    return path


def run_once(workers: int, root: Path) -> tuple[float, float]:
    """(whole run, documents phase) in seconds; the phase ends when the last partition is judged."""
    out = root / f"out-{workers}"
    shutil.rmtree(out, ignore_errors=True)
    spec = load_spec(write_spec(root / f"spec-{workers}.toml", workers))
    phase_end = [0.0]

    def progress(name: str, done: int, total: int, docs: int = 0) -> None:
        if name == "documents" and done == total:
            phase_end[0] = time.perf_counter()

    t0 = time.perf_counter()
    run_pipeline(spec, out, progress=progress)
    return time.perf_counter() - t0, phase_end[0] - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=2, help="rounds; each times the baseline, then 1 and 2 workers")
    args = ap.parse_args()
    files = pages()
    size = sum(f.stat().st_size for f in files)
    init_ray(None, 2)
    root = Path(tempfile.mkdtemp(prefix="corpus-bench-pipeline-"))
    rounds = [(extract_alone(files), *run_once(1, root), *run_once(2, root)) for _ in range(args.repeat)]
    shutil.rmtree(root, ignore_errors=True)
    base, one, one_docs, two, two_docs = (min(r[i] for r in rounds) for i in range(5))
    print(f"pages: {len(files)}, {size / 1e6:.1f} MB of HTML; best of {args.repeat} rounds")
    rows = (
        ("trafilatura alone (1 process)", base),
        ("documents phase, 1 worker", one_docs), ("documents phase, 2 workers", two_docs),
        ("whole run, 1 worker", one), ("whole run, 2 workers", two),
    )
    for name, t in rows:
        print(f"{name:31s}: {t:7.2f} s  {len(files) / t:6.1f} pages/s  {size / 1e6 / t:5.2f} MB/s")
    print(f"documents phase (1 worker) / trafilatura alone: {one_docs / base:.2f}x the time")
    print(f"documents phase, 2 workers over 1: {one_docs / two_docs:.2f}x faster")
    print(f"after the documents phase (dedup, shards, provenance, report): {one - one_docs:.1f} s / {two - two_docs:.1f} s")


if __name__ == "__main__":
    main()
