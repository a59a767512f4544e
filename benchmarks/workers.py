"""Does a second worker make a run faster? 1 vs 2 workers, end to end, on a few thousand real pages.

Run from the repository root on an idle machine (2+ cores):

    PYTHONPATH=$PWD python benchmarks/workers.py [--copies 20] [--rounds 2] [--datatrove /path/to/venv/bin/python]

Input: the 150 real pages of ../shared/data (127 Shift_JIS law.e-gov.go.jp pages of Dec 2013, 17
UTF-8 e-Gov exports, 6 Digital Agency note pages) repeated ``--copies`` times under distinct URLs,
each copy with one distinct line appended so no two documents are duplicates, written as 8
WARC.gz files (HTTP response records). Each round runs `corpus run` (a subprocess: Ray start,
planning, every stage, shards, provenance) with ``[ray.documents] concurrency = 1`` and then 2,
interleaved, and prints wall time, pages/s, pages/s per worker and the 2-over-1 speed-up (the
target: at least 1.8x).

With ``--datatrove PYTHON`` (an interpreter of a separate venv with ``pip install "datatrove[processing]"
warcio faust-cchardet python-magic lxml_html_clean pyarrow spacy sudachipy sudachidict_core``: the
Japanese word tokenizer of its Gopher filter) the
same WARCs also go through datatrove's WarcReader -> Trafilatura -> GopherRepetitionFilter ->
ParquetWriter with 1 and then 2 tasks/workers, for pages/s per core side by side. datatrove does
less per page (no licence, charset evidence, normalisation, Japanese quality rules with MeCab, PII,
token counts, MinHash, dedup, provenance), so at equal speed per core the pipeline does more work.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CORPUS_SHARED_DATA", REPO.parent / "shared" / "data"))
PAGES = ["law_html/lawegov_2013_sjis/html", "law_html/egov_2025_utf8", "gov_html/digital_agency_note_2021"]
WARC_FILES = 8


def build(root: Path, copies: int) -> tuple[Path, int]:
    """WARC.gz files holding ``copies`` distinct variants of every real page; (directory, pages)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    files = sorted(p for rel in PAGES for p in (SHARED / rel).glob("*.html"))
    out = root / "warc"
    out.mkdir(parents=True)
    handles = [open(out / f"pages-{i:02d}.warc.gz", "wb") for i in range(WARC_FILES)]
    writers = [WARCWriter(h, gzip=True) for h in handles]
    n = 0
    for c in range(copies):
        for f in files:
            raw = f.read_bytes()
            charset = "shift_jis" if "sjis" in str(f) else "utf-8"
            body = raw + f"\n<p>複製番号 {c} の識別用の一文です。</p>\n".encode(charset)
            headers = StatusAndHeaders("200 OK", [("Content-Type", f"text/html; charset={charset}")], protocol="HTTP/1.1")
            url = f"https://bench.example.go.jp/{c}/{f.parent.name}/{f.name}"
            w = writers[n % WARC_FILES]
            w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers))
            n += 1
    for h in handles:
        h.close()
    return out, n


def spec(root: Path, warcs: Path, workers: int) -> Path:
    path = root / f"spec-{workers}.toml"
    path.write_text(
        f'[pipeline]\nname = "workers-bench"\n\n[[inputs]]\npath = "{warcs}"\nsource = "bench"\nlicense = "LicenseRef-JP-Copyright-Art13"\n\n'
        f'[tokenizer]\nmodel = "{REPO / "tokenizer-models" / "sample.model"}"\n\n[dedup.near]\nenabled = true\n\n'
        f"[partitioning]\nmax_bytes = 8388608\n\n[ray.documents]\nconcurrency = {workers}\n",
        encoding="utf-8",
    )
    return path


def corpus_run(spec_path: Path, out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "corpus.cli", "run", str(spec_path), "--output", str(out)], check=True,
                   env=dict(os.environ, PYTHONPATH=str(REPO)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


DATATROVE = """
import sys
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import WarcReader
from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.filters import GopherRepetitionFilter
from datatrove.pipeline.writers import ParquetWriter
if __name__ == "__main__":  # datatrove's workers start with spawn: the job must be importable
    warcs, out, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
    LocalPipelineExecutor(
        pipeline=[WarcReader(warcs, glob_pattern="*.warc.gz"), Trafilatura(favour_precision=False, timeout=60),
                  GopherRepetitionFilter(language="ja"), ParquetWriter(out + "/data")],
        tasks=%d, workers=workers, logging_dir=out + "/logs", skip_completed=False,
    ).run()
""" % WARC_FILES


def datatrove_run(python: str, warcs: Path, out: Path, workers: int) -> float:
    shutil.rmtree(out, ignore_errors=True)
    script = out.parent / "datatrove_job.py"
    script.write_text(DATATROVE, encoding="utf-8")
    t0 = time.perf_counter()
    done = subprocess.run([python, str(script), str(warcs), str(out), str(workers)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        raise SystemExit(f"datatrove run failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--datatrove", help="python of a venv with datatrove[processing] and warcio (optional peer run)")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="corpus-bench-workers-"))
    warcs, pages = build(root, args.copies)
    size = sum(f.stat().st_size for f in warcs.iterdir())
    times: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for w in (1, 2):
            times.setdefault(f"corpus {w}", []).append(corpus_run(spec(root, warcs, w), root / f"out-{w}"))
            if args.datatrove:
                times.setdefault(f"datatrove {w}", []).append(datatrove_run(args.datatrove, warcs, root / f"dt-{w}", w))
    kept = json.loads((root / "out-2" / "manifest.json").read_text())["totals"]
    shutil.rmtree(root, ignore_errors=True)
    print(f"{pages} pages in {WARC_FILES} WARC.gz ({size / 1e6:.0f} MB); {args.rounds} interleaved rounds, best of each; kept {kept['kept']}")
    best = {k: min(v) for k, v in times.items()}
    for k, t in best.items():
        w = int(k.split()[-1])
        print(f"{k:12s} workers: {t:7.1f} s wall  {pages / t:6.1f} pages/s  {pages / t / w:6.1f} pages/s per worker   (rounds: {', '.join(f'{x:.1f}' for x in times[k])})")
    print(f"corpus: 2 workers over 1: {best['corpus 1'] / best['corpus 2']:.2f}x faster")
    if args.datatrove:
        print(f"datatrove: 2 workers over 1: {best['datatrove 1'] / best['datatrove 2']:.2f}x faster")
        for w in (1, 2):
            print(f"pages/s per core, {w} worker(s): corpus / datatrove = {best[f'datatrove {w}'] / best[f'corpus {w}']:.2f}x")


if __name__ == "__main__":
    main()
