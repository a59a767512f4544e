"""Acquisition throughput: the law XML reader and the crawler, each against a baseline in-process.

  PYTHONPATH=$PWD python benchmarks/acquisition.py [SHARED_DATA_DIR]

1. Law XML: ``read_law_xml_file`` (structured text) over every law XML in shared/data vs a plain
   lxml parse + itertext of the same bytes (what "just strip the tags" would cost).
2. WARC: ``corpus.sources.warc.iter_records`` (framing and boundary checks, digests verified,
   payloads held) over a WARC.gz and a WARC of the 127 Shift_JIS law pages x 8, vs warcio's
   ArchiveIterator reading every response payload without checks (what the reader did before).
3. Crawler: ``corpus crawl`` machinery (robots, frontier in SQLite, WARC/1.1 writing, link
   extraction, log) over the 127 Shift_JIS law pages served by a local http.server, min_delay 0,
   vs a bare sequential httpx GET of the same URLs. Both are loopback, so the ratio is the
   crawler's own overhead per page, not network time.
"""

from __future__ import annotations

import functools
import shutil
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from lxml import etree

from corpus.sources.crawl.crawler import Crawler
from corpus.sources.crawl.spec import CrawlSpec
from corpus.sources.read import expand_input, read_range
from corpus.io.bounded import ReadLimits

SHARED = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data"


def bench_law_xml() -> None:
    exp = expand_input(str(SHARED / "law_xml"), "bench", "x")
    files = exp.files
    data = [Path(f.location).read_bytes() for f in files]
    mb = sum(map(len, data)) / 1e6
    t0 = time.perf_counter()
    base_chars = sum(len("".join(etree.fromstring(d, etree.XMLParser(huge_tree=True)).itertext())) for d in data)
    base = time.perf_counter() - t0
    t0 = time.perf_counter()
    chars = sum(len(r["text"]) for rng in exp.ranges for r in read_range(rng, ReadLimits()) if isinstance(r, dict))
    ours = time.perf_counter() - t0
    print(f"law XML: {len(files)} files, {mb:.1f} MB")
    print(f"  baseline lxml itertext : {base:6.3f} s  {mb / base:6.1f} MB/s  ({base_chars:,} chars incl. TOC/ruby/indent)")
    print(f"  law_xml reader         : {ours:6.3f} s  {mb / ours:6.1f} MB/s  ({chars:,} chars)")
    print(f"  ratio (ours / baseline): {ours / base:.2f}x the time")


def bench_warc() -> None:
    from warcio.archiveiterator import ArchiveIterator

    from corpus.sources.warc import iter_records
    from corpus.sources.warc_write import HttpCapture, write_warc

    pages = sorted((SHARED / "law_html" / "lawegov_2013_sjis" / "html").glob("*.html"))
    caps = [HttpCapture(f"https://x.example/{i}/{p.stem}", "2013-12-01T00:00:00Z", p.read_bytes(), "text/html") for i in range(8) for p in pages]
    with tempfile.TemporaryDirectory() as tmp:
        for gz in (True, False):
            path = write_warc(Path(tmp) / ("bench.warc.gz" if gz else "bench.warc"), caps, gzip=gz)
            mb = path.stat().st_size / 1e6
            best = {"warcio": 1e9, "ours": 1e9}
            for _ in range(3):  # interleaved rounds, best of each
                t0 = time.perf_counter()
                with path.open("rb") as fh:
                    n_base = sum(1 for r in ArchiveIterator(fh) if r.rec_type == "response" and r.content_stream().read() is not None)
                best["warcio"] = min(best["warcio"], time.perf_counter() - t0)
                t0 = time.perf_counter()
                n_ours = sum(1 for r in iter_records(str(path)) if getattr(r, "type", None) == "response" and r.problem is None)
                best["ours"] = min(best["ours"], time.perf_counter() - t0)
            assert n_base == n_ours
            print(f"WARC{'.gz' if gz else ''}: {n_ours} responses, {mb:.1f} MB")
            print(f"  baseline warcio ArchiveIterator : {best['warcio']:6.3f} s  {mb / best['warcio']:7.1f} MB/s")
            print(f"  iter_records (checked)          : {best['ours']:6.3f} s  {mb / best['ours']:7.1f} MB/s")
            print(f"  ratio (ours / baseline)         : {best['ours'] / best['warcio']:.2f}x the time")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def bench_crawl() -> None:
    root = SHARED / "law_html" / "lawegov_2013_sjis" / "html"
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}/"
    out = Path(tempfile.mkdtemp())
    try:
        spec = CrawlSpec.model_validate({
            "crawl": {"name": "bench", "user_agent": "jp-corpus-bench (+mailto:bench@example.org)", "seeds": [base], "allow": [base]},
            "limits": {"max_pages": 1000, "max_depth": 1},
            "politeness": {"min_delay": 0.0, "concurrency": 1},
        })
        t0 = time.perf_counter()
        summary = Crawler(spec, out / "crawl").run()
        ours = time.perf_counter() - t0
        urls = [base] + [base + p.name for p in sorted(root.glob("*.html"))]
        t0 = time.perf_counter()
        with httpx.Client() as client:
            nbytes = sum(len(client.get(u).content) for u in urls)
        bare = time.perf_counter() - t0
        warc_mb = sum(p.stat().st_size for p in (out / "crawl" / "warc").glob("*")) / 1e6
        print(f"crawl: {summary.stored} pages stored ({nbytes / 1e6:.1f} MB served, {warc_mb:.1f} MB WARC.gz), one host, min_delay 0")
        print(f"  baseline httpx GET loop: {bare:6.3f} s  {len(urls) / bare:6.1f} pages/s")
        print(f"  corpus crawl           : {ours:6.3f} s  {summary.stored / ours:6.1f} pages/s")
        print(f"  ratio (ours / baseline): {ours / bare:.2f}x the time")
    finally:
        httpd.shutdown()
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    bench_law_xml()
    bench_warc()
    bench_crawl()
