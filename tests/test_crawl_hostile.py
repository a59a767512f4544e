"""The crawler cannot be held open: total deadlines against trickling and endless servers, bounded
decoding of gzip bombs, and Ctrl-C / SIGTERM that stop at once with a valid WARC and a resumable
frontier. Everything runs against a real HTTP server on 127.0.0.1 (tests/crawl_server.py)."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
import tracemalloc
import zlib
from pathlib import Path

import brotli
import pytest

from corpus.sources.crawl.crawler import Crawler
from corpus.sources.crawl.decode import decode_content
from corpus.sources.crawl.fetch import Fetcher
from corpus.sources.crawl.frontier import Frontier
from corpus.sources.crawl.spec import CrawlSpec
from corpus.sources.crawl.warc_out import WarcOutput, repair

from crawl_server import BOMB_INFLATED, LAW_A, Server
from warc_check import read_warc_dir, read_warc_strictly

UA = "jp-corpus-test/0.1 (+mailto:corpus-test@example.org)"
REPO = Path(__file__).resolve().parents[1]
DEADLINE = 1.5


@pytest.fixture(scope="module")
def server(shared):
    srv = Server(shared).start()
    yield srv
    srv.stop()


def read_log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "crawl-log.jsonl").read_text(encoding="utf-8").splitlines()]


def wait_for(condition, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("condition not reached")
        time.sleep(0.02)


@pytest.mark.parametrize("path", ["/trickle-headers.html", "/trickle-body.html", "/endless.html"])
def test_a_request_ends_at_its_total_deadline_however_the_bytes_trickle(server, path):
    # read timeout 1 s: every trickled byte (0.1 s apart) resets it, so only the deadline can end these
    fetcher = Fetcher(UA, connect_timeout=1.0, read_timeout=1.0, deadline_seconds=DEADLINE)
    try:
        res = fetcher.fetch(server.base + path, max_bytes=10_000_000)
    finally:
        fetcher.close()
    assert res.error == "timeout" and f"total deadline of {DEADLINE:g} s passed" in res.detail
    assert DEADLINE <= res.seconds < DEADLINE + 0.5
    assert res.body == b""  # nothing of a cut-off response is kept
    wait_for(lambda: path in server.disconnects, timeout=5.0)  # the connection was really closed
    first = min(t for p, t in server.requests if p == path)
    assert server.disconnects[path] - first < DEADLINE + 1.0


def test_cancel_all_ends_a_stuck_request_at_once(server):
    fetcher = Fetcher(UA, connect_timeout=1.0, read_timeout=30.0, deadline_seconds=60.0)
    box: dict = {}
    worker = threading.Thread(target=lambda: box.setdefault("res", fetcher.fetch(server.base + "/hang/9.html", 10_000_000)))
    worker.start()
    wait_for(lambda: server.in_flight("/hang/9.html"))
    t0 = time.monotonic()
    fetcher.cancel_all()
    worker.join(timeout=5)
    assert not worker.is_alive() and time.monotonic() - t0 < 1.0
    assert box["res"].error == "cancelled"
    assert fetcher.fetch(server.base + "/law/a.html", 10_000_000).error == "cancelled"  # nothing new starts
    fetcher.close()


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_bounded_decoding_of_a_bomb_keeps_memory_near_the_cap(encoding):
    inflated = 256 * 1024 * 1024
    compress = {"gzip": lambda data: gzip.compress(data, 9), "deflate": lambda data: zlib.compress(data, 9),
                "br": lambda data: brotli.compress(data, quality=5)}[encoding]
    body = compress(b"\x00" * inflated)
    assert len(body) < inflated / 500  # a real bomb: tiny on the wire
    cap = 1024 * 1024
    tracemalloc.start()
    try:
        decoded = decode_content(body, encoding, cap)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert decoded.error == "too_large_decoded" and decoded.data is None
    assert peak < 8 * cap  # whole inflation would be 256 MiB
    # under the cap the same code gives the bytes back exactly, and a prefix when asked to truncate
    page = "<html><body>金融商品取引法</body></html>".encode() * 100
    small = compress(page)
    assert decode_content(small, encoding, cap).data == page
    assert decode_content(body, encoding, cap, truncate=True).data == b"\x00" * cap


def test_hostile_pages_cost_one_deadline_each_and_a_bomb_is_stored_as_sent(server, tmp_path):
    spec = CrawlSpec.model_validate({
        "crawl": {"name": "h", "user_agent": UA, "allow": [f"127.0.0.1:{server.port}"],
                  "seeds": [server.base + p for p in ("/trickle-headers.html", "/trickle-body.html", "/endless.html", "/bomb.html", "/law/a.html")]},
        "limits": {"max_depth": 0, "read_timeout": 1.0, "request_deadline_seconds": DEADLINE, "max_decoded_bytes": 1024 * 1024},
        "politeness": {"min_delay": 0.0, "concurrency": 1, "max_retries": 1, "backoff_seconds": 0.05},
    })
    out = tmp_path / "out"
    summary = Crawler(spec, out).run()
    log = [e for e in read_log(out) if e["event"] != "seed"]
    events = lambda p: [e["event"] for e in log if e["url"] == server.base + p]  # noqa: E731
    for path in ("/trickle-headers.html", "/trickle-body.html", "/endless.html"):
        assert events(path) == ["retry", "retries_exhausted"], path
        assert all(e["error"] == "timeout" and "total deadline" in e["detail"] for e in log if e["url"] == server.base + path)
    (bomb,) = [e for e in log if e["url"] == server.base + "/bomb.html"]
    assert bomb["event"] == "too_large_decoded" and "1048576" in bomb["detail"]
    assert events("/law/a.html") == ["fetched"] and summary.stored == 1
    records = read_warc_dir(out / "warc")
    (response,) = [r for r in records if r.type == "response" and r.uri == server.base + "/bomb.html"]
    assert response.payload == server.bomb and len(server.bomb) < BOMB_INFLATED / 100  # the bytes as sent
    assert response.http.get_header("Content-Encoding") == "gzip"
    (meta,) = [r for r in records if r.type == "metadata" and r.headers.get_header("WARC-Refers-To") == response.headers.get_header("WARC-Record-ID")]
    assert json.loads(meta.payload)["decision"] == "too_large_decoded"
    (law,) = [r for r in records if r.type == "response" and r.uri == server.base + "/law/a.html"]
    assert law.payload == (server.shared / LAW_A).read_bytes()


def test_a_gzip_bomb_robots_txt_is_read_up_to_500_kib(shared, tmp_path):
    srv = Server(shared, robots_bomb=True).start()
    try:
        spec = CrawlSpec.model_validate({
            "crawl": {"name": "r", "user_agent": UA, "seeds": [srv.base + "/index.html"], "allow": [f"127.0.0.1:{srv.port}"]},
            "limits": {"max_pages": 5, "max_depth": 1},
            "politeness": {"min_delay": 0.0},
        })
        Crawler(spec, tmp_path / "out").run()
        log = read_log(tmp_path / "out")
        (robots,) = [e for e in log if e["event"] == "robots"]
        assert robots["verdict"] == "parsed" and robots["crawl_delay"] == 0.1  # rules from the head of the bomb
        assert any(e["event"] == "robots_disallowed" and e["url"].endswith("/private/secret.html") for e in log)
        assert srv.count("/private/secret.html") == 0
    finally:
        srv.stop()


def crawl_spec_file(path: Path, srv: Server, name: str) -> Path:
    path.write_text(
        f'[crawl]\nname = "{name}"\nuser_agent = "{UA}"\nseeds = ["{srv.base}/hang-index.html"]\nallow = ["127.0.0.1:{srv.port}"]\n'
        "[limits]\nmax_depth = 1\nread_timeout = 30.0\nrequest_deadline_seconds = 120.0\n"
        "[politeness]\nmin_delay = 0.05\nmax_retries = 0\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_a_stuck_crawl_at_once_with_a_valid_warc_and_it_resumes(shared, tmp_path, signum):
    srv = Server(shared).start()
    try:
        spec = crawl_spec_file(tmp_path / "crawl.toml", srv, "sig")
        out = tmp_path / "out"
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.Popen([sys.executable, "-m", "corpus.cli", "crawl", str(spec), "--output", str(out)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            wait_for(lambda: srv.in_flight("/hang/1.html"), timeout=60)  # stuck: deadline 120 s, read timeout 30 s
            time.sleep(0.3)
            t0 = time.monotonic()
            proc.send_signal(signum)
            _, err = proc.communicate(timeout=30)
            elapsed = time.monotonic() - t0
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err
        assert elapsed < 3.0, f"took {elapsed:.1f} s to stop"
        assert "stopped:" in err
        wait_for(lambda: "/hang/1.html" in srv.disconnects, timeout=5)
        log = read_log(out)
        assert [e["event"] for e in log if e["url"] == srv.base + "/hang/1.html"] == ["interrupted"]
        # the WARC: every record whole (digests checked, gzip members complete), exchanges complete
        records = read_warc_dir(out / "warc")
        responses = {r.uri for r in records if r.type == "response"}
        assert responses == {srv.base + "/hang-index.html", srv.base + "/law/a.html"}
        for r in records:
            if r.type == "response":
                rid = r.headers.get_header("WARC-Record-ID")
                assert {x.type for x in records if x.headers.get_header("WARC-Concurrent-To") == rid} == {"request", "metadata"}
        # the frontier: the interrupted URL and the rest are still queued
        db = sqlite3.connect(out / "frontier.sqlite")
        state = dict(db.execute("SELECT url, state FROM urls").fetchall())
        db.close()
        assert state[srv.base + "/hang/1.html"] == "queued" and state[srv.base + "/law/a.html"] == "done"
        assert state[srv.base + "/gov/note.html"] == "queued"
        # resume: the same command finishes the crawl without refetching what was stored
        srv.release_hangs.set()
        second = subprocess.run([sys.executable, "-m", "corpus.cli", "crawl", str(spec), "--output", str(out)],
                                capture_output=True, text=True, env=env, timeout=120)
        assert second.returncode == 0 and "done:" in second.stderr, second.stderr
        log = read_log(out)
        fetched = [e["url"] for e in log if e["event"] == "fetched"]
        assert sorted(fetched) == sorted({srv.base + p for p in ("/hang-index.html", "/law/a.html", "/hang/1.html", "/law/b.html", "/hang/2.html", "/gov/note.html")})
        assert srv.count("/law/a.html") == 1 and srv.count("/hang-index.html") == 1 and srv.count("/hang/1.html") == 2
        assert {r.uri for r in read_warc_dir(out / "warc") if r.type == "response"} == set(fetched)
    finally:
        srv.release_hangs.set()
        srv.stop()


def test_a_killed_crawl_leaves_no_partial_record_behind(tmp_path, server):
    """kill -9 between writing records and committing them: the next start cuts the WARC back."""
    warc_dir = tmp_path / "warc"
    warc_dir.mkdir()
    frontier = Frontier(tmp_path / "frontier.sqlite")
    fetcher = Fetcher(UA, 1.0, 5.0, 10.0)
    a, b = (fetcher.fetch(server.base + p, 10_000_000) for p in ("/law/a.html", "/law/b.html"))
    fetcher.close()
    for res in (a, b):
        frontier.add(res.url, 0, None)
    out = WarcOutput(warc_dir, "k", 10**9, True, UA, on_open=frontier.ledger.opened)
    out.write_exchange(a, {"decision": "fetched"})
    frontier.finish(a.url, "fetched", counted=True, warc=out.position())
    out.write_exchange(b, {"decision": "fetched"})  # written, never committed: the process dies here
    out.fh.write(b"\x1f\x8b\x08\x00partial")  # and a record cut off mid-write
    out.fh.flush()
    with pytest.raises(Exception):
        read_warc_strictly(out.path)
    changes = repair(warc_dir, frontier.ledger.committed())
    assert len(changes) == 1 and "cut from" in changes[0]
    records = read_warc_strictly(out.path)
    assert [r.uri for r in records if r.type == "response"] == [a.url]
    assert [q.url for q in frontier.queued()] == [b.url]  # b is fetched again on resume
    frontier.close()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A self-signed certificate for localhost, made with the openssl command line."""
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
                   check=True, capture_output=True)
    return d / "cert.pem", d / "key.pem"


def test_https_goes_through_the_guarded_tls_handshake_and_keeps_the_deadline(shared, tls_files):
    cert, key = tls_files
    srv = Server(shared)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    srv.httpd.socket = server_ctx.wrap_socket(srv.httpd.socket, server_side=True)
    srv.start()
    silent = socket.socket()  # accepts TCP (backlog) but never answers the TLS ClientHello
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    fetcher = Fetcher(UA, connect_timeout=1.0, read_timeout=1.0, deadline_seconds=DEADLINE,
                      ssl_context=ssl.create_default_context(cafile=str(cert)))
    try:
        ok = fetcher.fetch(f"https://localhost:{srv.port}/law/a.html", 10_000_000)
        assert (ok.error, ok.status) == (None, 200) and ok.body == (shared / LAW_A).read_bytes()
        slow = fetcher.fetch(f"https://localhost:{srv.port}/trickle-body.html", 10_000_000)
        assert slow.error == "timeout" and "total deadline" in slow.detail and slow.seconds < DEADLINE + 0.5
        stuck = fetcher.fetch(f"https://localhost:{silent.getsockname()[1]}/", 10_000_000)
        assert stuck.error == "timeout" and "TLS handshake" in stuck.detail and stuck.seconds < 1.0 + 0.5
    finally:
        fetcher.close()
        silent.close()
        srv.stop()
