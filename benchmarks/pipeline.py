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
timings. Prints pages/s, MB/s, the pipeline's time over the baseline's, and the 2-worker speed-up.
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
from corpus.pipeline.runner import init_ray, run_pipeline
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
        f'[pipeline]\nname = "bench"\n\n{blocks}[tokenizer]\nmodel = "{REPO / "tokenizers" / "sample.model"}"\n\n'
        f"[partitioning]\nmax_files = 8\n\n[ray.documents]\nconcurrency = {workers}\n",
        encoding="utf-8",
    )
    return path


def run_once(workers: int, root: Path) -> float:
    out = root / f"out-{workers}"
    shutil.rmtree(out, ignore_errors=True)
    spec = load_spec(write_spec(root / f"spec-{workers}.toml", workers))
    t0 = time.perf_counter()
    run_pipeline(spec, out)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=2, help="rounds; each times the baseline, then 1 and 2 workers")
    args = ap.parse_args()
    files = pages()
    size = sum(f.stat().st_size for f in files)
    init_ray(None, 2, "hash")
    root = Path(tempfile.mkdtemp(prefix="corpus-bench-pipeline-"))
    rounds = [(extract_alone(files), run_once(1, root), run_once(2, root)) for _ in range(args.repeat)]
    shutil.rmtree(root, ignore_errors=True)
    base, one, two = (min(r[i] for r in rounds) for i in range(3))
    print(f"pages: {len(files)}, {size / 1e6:.1f} MB of HTML; best of {args.repeat} rounds")
    for name, t in (("trafilatura alone (1 process)", base), ("pipeline, 1 worker", one), ("pipeline, 2 workers", two)):
        print(f"{name:31s}: {t:7.2f} s  {len(files) / t:6.1f} pages/s  {size / 1e6 / t:5.2f} MB/s")
    print(f"pipeline (1 worker) / trafilatura alone: {one / base:.2f}x the time")
    print(f"2 workers over 1: {one / two:.2f}x faster")


if __name__ == "__main__":
    main()
