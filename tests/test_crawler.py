"""`corpus crawl` against a real HTTP server on 127.0.0.1 that serves real pages and misbehaves."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from warcio.archiveiterator import ArchiveIterator

from corpus.cli import main
from corpus.document import sha256_hex
from corpus.sources.crawl.crawler import Crawler
from corpus.sources.crawl.spec import CrawlSpec, CrawlSpecError, load_crawl_spec
from corpus.sources.crawl.urls import canonicalize
from corpus.sources.registry import open_locator

from conftest import write_spec
from crawl_server import LAW_A, Server, Tracker
from pdf_fixtures import law_sentences

UA = "jp-corpus-test/0.1 (+mailto:corpus-test@example.org)"


def spec_for(srv: Server, **over) -> CrawlSpec:
    data = {
        "crawl": {"name": "t", "user_agent": UA, "seeds": [srv.base + "/index.html"], "allow": [f"127.0.0.1:{srv.port}"]},
        "limits": {"max_pages": 100, "max_depth": 3, "max_bytes": 1_000_000, "connect_timeout": 1.0, "read_timeout": 0.3},
        "politeness": {"min_delay": 0.05, "concurrency": 4, "max_retries": 1, "backoff_seconds": 0.05},
        "output": {"warc_max_bytes": 30_000},
    }
    for section, values in over.items():
        data[section] = {**data[section], **values}
    return CrawlSpec.model_validate(data)


def read_log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "crawl-log.jsonl").read_text(encoding="utf-8").splitlines()]


def warc_records(out: Path) -> list[tuple[str, int, object, bytes]]:
    recs = []
    for path in sorted((out / "warc").glob("*.warc.gz")):
        with path.open("rb") as fh:
            it = ArchiveIterator(fh)
            for r in it:
                payload = r.content_stream().read()
                recs.append((path.name, it.get_record_offset(), r, payload))
    return recs


@pytest.fixture(scope="module")
def crawl(shared, tmp_path_factory):
    srv = Server(shared).start()
    out = tmp_path_factory.mktemp("crawl") / "out"
    summary = Crawler(spec_for(srv), out).run()
    yield srv, out, summary, read_log(out)
    srv.stop()


def events_for(log, url_path, srv):
    return [e["event"] for e in log if e["url"] == srv.base + url_path]


def test_robots_disallow_is_obeyed_and_crawl_delay_spaces_requests(crawl):
    srv, _, _, log = crawl
    assert srv.count("/private/secret.html") == 0
    assert events_for(log, "/private/secret.html", srv) == ["robots_disallowed"]
    robots = [e for e in log if e["event"] == "robots"]
    assert len(robots) == 1 and robots[0]["crawl_delay"] == 0.1 and srv.count("/robots.txt") == 1
    times = sorted(t for _, t in srv.requests)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0.1 - 0.005  # one host, one request at a time, Crawl-delay 0.1 > min_delay 0.05


def test_redirects_are_followed_only_inside_the_allowlist(crawl):
    srv, _, _, log = crawl
    out = [e for e in log if e["event"] == "redirect_outside_allowlist"]
    assert [e["url"] for e in out] == [srv.base + "/redirect-out"]
    assert out[0]["location"].startswith("http://localhost:")
    inside = next(e for e in log if e["event"] == "redirect")
    assert inside["location"] == srv.base + "/law/c.html"
    assert srv.count("/law/c.html") == 1 and events_for(log, "/law/c.html", srv) == ["fetched"]


def test_oversized_responses_are_aborted_and_not_stored(crawl):
    srv, out, _, log = crawl
    for path in ("/big.html", "/big-declared.html"):
        (entry,) = [e for e in log if e["url"] == srv.base + path]
        assert entry["event"] == "too_large" and srv.count(path) == 1
    assert "aborted after" in next(e for e in log if e["url"] == srv.base + "/big.html")["detail"]
    assert "Content-Length" in next(e for e in log if e["url"] == srv.base + "/big-declared.html")["detail"]
    responses = [r.rec_headers.get_header("WARC-Target-URI") for _, _, r, _ in warc_records(out) if r.rec_type == "response"]
    assert srv.base + "/big.html" not in responses and srv.base + "/big-declared.html" not in responses


def test_stalled_server_times_out_and_is_retried_then_given_up(crawl):
    srv, _, _, log = crawl
    assert events_for(log, "/stall.html", srv) == ["retry", "retries_exhausted"]
    assert srv.count("/stall.html") == 2  # max_retries = 1
    assert all(e["error"] == "timeout" for e in log if e["url"] == srv.base + "/stall.html")


def test_500_then_200_and_429_with_retry_after(crawl):
    srv, _, _, log = crawl
    assert events_for(log, "/flaky.html", srv) == ["retry", "fetched"]
    assert events_for(log, "/busy.html", srv) == ["retry", "fetched"]
    retry = next(e for e in log if e["url"] == srv.base + "/busy.html")
    assert retry["status"] == 429 and retry["wait"] == 1.0
    first, second = srv.times("/busy.html")
    assert second - first >= 1.0  # Retry-After: 1 honoured, not the 0.05 s backoff
    # 4xx other than 429 is not retried
    assert events_for(log, "/missing.html", srv) == ["http_error"] and srv.count("/missing.html") == 1


def test_link_loop_and_url_variants_are_fetched_once(crawl):
    srv, _, _, log = crawl
    for path in ("/loop/a.html", "/loop/b.html", "/index.html", "/law/b.html"):
        assert srv.count(path) == 1, path
    fetched = [e["url"] for e in log if e["event"] in ("fetched", "http_error", "redirect", "redirect_outside_allowlist")]
    assert len(fetched) == len(set(fetched))
    assert canonicalize("HTTP://127.0.0.1:80/law/./b.html#toc") == "http://127.0.0.1/law/b.html"


def test_warc_is_1_1_with_request_response_metadata_and_rotated(crawl, shared):
    srv, out, _, log = crawl
    files = sorted((out / "warc").glob("*.warc.gz"))
    assert len(files) > 1  # warc_max_bytes = 30 KB (compressed)
    recs = warc_records(out)
    assert all(r.rec_headers.protocol == "WARC/1.1" for _, _, r, _ in recs)
    by_id = {r.rec_headers.get_header("WARC-Record-ID"): r for _, _, r, _ in recs}
    responses = [(f, o, r, p) for f, o, r, p in recs if r.rec_type == "response"]
    for _, _, r, _ in responses:
        rid = r.rec_headers.get_header("WARC-Record-ID")
        kinds = {x.rec_type for x in by_id.values() if x.rec_headers.get_header("WARC-Concurrent-To") == rid}
        assert kinds == {"request", "metadata"}
    # the Shift_JIS page is stored byte for byte with its declared charset
    (law_a,) = [(r, p) for _, _, r, p in responses if r.rec_headers.get_header("WARC-Target-URI") == srv.base + "/law/a.html"]
    assert law_a[1] == (shared / LAW_A).read_bytes()
    assert law_a[0].http_headers.get_header("Content-Type") == "text/html; charset=Shift_JIS"
    request = next(x for x in by_id.values() if x.rec_type == "request" and x.rec_headers.get_header("WARC-Target-URI") == srv.base + "/law/a.html")
    assert request.http_headers.get_header("User-Agent") == UA
    # the log's offsets point at the response records
    for e in log:
        if e["event"] == "fetched":
            rec = open_locator(f"warc:warc/{e['warc']}#{e['offset']}", {"warc": str(out / "warc")})
            assert rec.headers["WARC-Record-ID"] == e["record_id"] and rec.headers["WARC-Target-URI"] == e["url"]


def test_interrupted_crawl_resumes_without_refetching(shared, tmp_path):
    srv = Server(shared).start()
    try:
        out = tmp_path / "out"
        spec = spec_for(srv, politeness={"min_delay": 0.0})
        box: dict = {}

        def stop_after_three(event, url, entry):
            if event == "fetched" and sum(1 for e in read_log(out) if e["event"] == "fetched") >= 3:
                box["crawler"].stop()

        box["crawler"] = Crawler(spec, out, stop_after_three)
        first = box["crawler"].run()
        assert first.stopped and 3 <= first.stored < 10
        fetched_first = {e["url"] for e in read_log(out) if e["event"] == "fetched"}
        second = Crawler(spec, out).run()
        assert not second.stopped
        log = read_log(out)
        assert any(e["event"] == "resume" for e in log)
        fetched = [e["url"] for e in log if e["event"] == "fetched"]
        assert len(fetched) == len(set(fetched)) and fetched_first < set(fetched)
        for url in fetched:
            path = url[len(srv.base):]
            assert srv.count(path) == (2 if path in ("/flaky.html", "/busy.html") else 1), path
        names = sorted(p.name for p in (out / "warc").glob("*.warc.gz"))
        assert names[0] == "t-00000.warc.gz" and len(names) >= 2  # a restart never appends to an old file
    finally:
        srv.stop()


def test_crawl_spec_is_validated_before_any_request(tmp_path, capsys):
    bad = tmp_path / "crawl.toml"
    bad.write_text(
        '[crawl]\nname = "x"\nuser_agent = "nobody"\nseeds = ["http://evil.example/"]\nallow = ["www.fsa.go.jp"]\n'
        "[limits]\nmax_pages = 0\nrequest_deadline_seconds = inf\nmax_decoded_bytes = \"50MB\"\n[output]\ngzip = \"yes\"\n",
        encoding="utf-8",
    )
    with pytest.raises(CrawlSpecError) as err:
        load_crawl_spec(bad)
    msg = str(err.value)
    assert "crawl.user_agent" in msg and "contact" in msg and "limits.max_pages" in msg
    # no coercion, no infinities: each of these is named
    assert "limits.request_deadline_seconds: Input should be a finite number" in msg
    assert "limits.max_decoded_bytes: Input should be a valid integer" in msg and "output.gzip: Input should be a valid boolean" in msg
    assert main(["crawl", str(bad), "--output", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()
    sample = load_crawl_spec(Path(__file__).resolve().parents[1] / "pipelines" / "crawl-sample.toml")
    assert sample.crawl.seeds and all(seed.startswith(tuple(sample.crawl.allow)) for seed in sample.crawl.seeds)


def test_crawl_warc_through_the_pipeline_locators_open_their_records(crawl, ray_local, tmp_path, shared):
    from corpus.pipeline.runner import run_pipeline
    from corpus.pipeline.spec import load_spec

    srv, out, _, log = crawl
    spec = write_spec(tmp_path / "spec.toml", [(out / "warc", "crawl-test", "LicenseRef-JP-Copyright-Art13")],
                      '\n[quality]\nprofile = "basic"\n[quality.thresholds]\nmin_chars = 50\n')
    result = run_pipeline(load_spec(spec), tmp_path / "run")
    assert result.manifest["totals"]["accounting_ok"]
    kept = [r for f in sorted((tmp_path / "run" / "shards").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    rejected = [r for f in sorted((tmp_path / "run" / "rejected").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    urls = {r["url"] for r in kept}
    # /law/c.html and /busy.html serve the same page (so do /law/b.html and /flaky.html): one copy is kept
    assert srv.base + "/law/a.html" in urls and len(urls & {srv.base + "/law/c.html", srv.base + "/busy.html"}) == 1
    for doc in kept:
        rec = open_locator(doc["locator"], {"warc": str(out / "warc")})  # the spec input's name -> its root
        assert rec.headers["WARC-Type"] == "response"
        assert rec.headers["WARC-Target-URI"] == doc["url"]
        assert rec.headers["WARC-Record-ID"] == doc["warc_record_id"]
        assert rec.headers.get("WARC-Payload-Digest") == doc["payload_digest"]
        assert sha256_hex(rec.payload) == doc["raw_sha256"]
    sjis = next(d for d in kept if d["url"] == srv.base + "/law/a.html")
    assert sjis["charset_evidence"] == "http:shift_jis"
    # the 500, 429, 404 and redirect exchanges are in the WARC but are not documents
    status = {r["url"]: r["value"] for r in rejected if r["reason"] == "http_status"}
    assert status[srv.base + "/missing.html"] == 404 and status[srv.base + "/redirect-out"] == 302
    assert status[srv.base + "/flaky.html"] == 500 and status[srv.base + "/busy.html"] == 429
    # a crawled text PDF is extracted from its WARC record; a crawled scan is rejected with the reason
    pdf = next(d for d in kept if d["url"] == srv.base + "/docs/report.pdf")
    assert pdf["charset_evidence"] == "pdf:text-layer" and law_sentences(shared, n=1)[0][:20] in pdf["text"]
    scan = next(r for r in rejected if r["url"] == srv.base + "/docs/scan.pdf")
    assert (scan["stage"], scan["reason"]) == ("extract", "pdf_no_text_layer")


@pytest.mark.parametrize("concurrency", [1, 2])
def test_global_concurrency_limit_and_one_connection_per_host(shared, tmp_path, concurrency):
    tracker = Tracker()
    servers = [Server(shared, slow=0.15, tracker=tracker).start() for _ in range(2)]
    try:
        spec = CrawlSpec.model_validate({
            "crawl": {"name": "c", "user_agent": UA, "seeds": [s.base + "/loop/a.html" for s in servers],
                      "allow": [f"127.0.0.1:{s.port}" for s in servers]},
            "limits": {"max_depth": 1, "read_timeout": 2.0},
            "politeness": {"min_delay": 0.0, "concurrency": concurrency},
        })
        summary = Crawler(spec, tmp_path / "out").run()
        assert summary.stored == 6  # per host: /loop/a.html, /loop/b.html, /index.html
        assert all(s.max_active == 1 for s in servers)  # never two requests to one host at once
        assert tracker.max_active == concurrency  # two hosts overlap only when the limit allows it
    finally:
        for s in servers:
            s.stop()


def test_cli_crawl_prints_progress_and_sigint_stops_cleanly(shared, tmp_path):
    srv = Server(shared).start()
    try:
        spec = tmp_path / "crawl.toml"
        spec.write_text(
            f'[crawl]\nname = "cli"\nuser_agent = "{UA}"\nseeds = ["{srv.base}/index.html"]\nallow = ["127.0.0.1:{srv.port}"]\n'
            "[limits]\nread_timeout = 0.3\n[politeness]\nmin_delay = 0.3\nmax_retries = 0\n",
            encoding="utf-8",
        )
        out = tmp_path / "out"
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        proc = subprocess.Popen([sys.executable, "-m", "corpus.cli", "crawl", str(spec), "--output", str(out)],
                                stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            log = out / "crawl-log.jsonl"
            if log.exists() and sum(1 for e in read_log(out) if e["event"] == "fetched") >= 2:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "fetched 200 " + srv.base + "/index.html" in err and "stopped:" in err
        fetched = [e for e in read_log(out) if e["event"] == "fetched"]
        assert 2 <= len(fetched) < 8  # stopped early; the frontier keeps the rest queued
        queued = sqlite3.connect(out / "frontier.sqlite").execute("SELECT COUNT(*) FROM urls WHERE state='queued'").fetchone()[0]
        assert queued > 0
    finally:
        srv.stop()


def test_max_pages_stops_the_crawl_and_keeps_the_rest_queued(shared, tmp_path):
    srv = Server(shared).start()
    try:
        out = tmp_path / "out"
        summary = Crawler(spec_for(srv, limits={"max_pages": 3}), out).run()
        assert summary.pages == 3
        pages = [p for p, _ in srv.requests if p != "/robots.txt"]
        assert pages == ["/index.html", "/law/a.html", "/law/b.html"]  # document order, fetch-once
        db = sqlite3.connect(out / "frontier.sqlite")
        assert db.execute("SELECT COUNT(*) FROM urls WHERE state='queued'").fetchone()[0] > 5
    finally:
        srv.stop()
