"""A real HTTP server on 127.0.0.1 serving real pages from ../shared/data, and misbehaving on cue.

Used by the crawler tests. It records every request (path, arrival time) so tests can assert what
the crawler did from the server's side as well as from the crawl log.

Hostile routes (the crawler must not be held open by any of them): ``/trickle-headers.html`` sends
its header block one byte at a time, ``/trickle-body.html`` sends headers then one body byte at a
time, ``/endless.html`` streams a body that never ends (fast enough that no read timeout fires),
``/bomb.html`` is a small gzip body that inflates to 64 MiB, and ``/hang/*.html`` trickle until
``release_hangs`` is set (then they serve a real page). ``robots_bomb`` makes robots.txt a gzip
bomb whose first lines are real rules. When a hostile route's client goes away, the time is kept
in ``disconnects``.
"""

from __future__ import annotations

import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pdf_fixtures import image_pdf, law_sentences, text_pdf

SJIS = "law_html/lawegov_2013_sjis/html"
LAW_A = f"{SJIS}/bf2a36e69d30a929.html"
LAW_B = f"{SJIS}/d3706fc85c406a45.html"
LAW_C = f"{SJIS}/51a9febd8f217f62.html"
BIG = f"{SJIS}/c1c28960cc47f085.html"  # 金融商品取引法, 2.4 MB
NOTE = "gov_html/digital_agency_note_2021/n_n3690482b9676.html"
ROBOTS = "User-agent: *\nDisallow: /private/\nDisallow: /cgi-bin/\nCrawl-delay: 0.1\n"
STALL_SECONDS = 2.0
TRICKLE_GAP = 0.1  # seconds between trickled bytes: well inside any read timeout the tests use
TRICKLE_MAX_SECONDS = 120.0  # a handler thread ends by itself even if nobody hangs up
BOMB_INFLATED = 64 * 1024 * 1024
HANG_LINKS = ["/law/a.html", "/hang/1.html", "/law/b.html", "/hang/2.html", "/gov/note.html"]


def index_html() -> bytes:
    links = [
        "/law/a.html", "/law/./b.html#toc", "/law/b.html", "/gov/note.html", "/private/secret.html",
        "/redirect-out", "/redirect-in", "/big.html", "/big-declared.html", "/stall.html", "/flaky.html",
        "/busy.html", "/missing.html", "/loop/a.html", "/docs/report.pdf", "/docs/scan.pdf",
    ]
    body = "".join(f'<li><a href="{u}">{u}</a></li>' for u in links)
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>索引</title></head><body><ul>{body}</ul></body></html>".encode()


def loop_html(other: str) -> bytes:
    return (f"<html><body><p>ループ</p><a href='{other}'>次</a><a href='#top'>上</a>"
            f"<a href='/loop/a.html'>a</a><a href='/index.html'>索引</a></body></html>").encode()


class Tracker:
    """Requests in flight over one or more servers (the crawler's global concurrency, seen from outside)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0

    def enter(self) -> None:
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)

    def leave(self) -> None:
        with self.lock:
            self.active -= 1


class Server:
    """Start with ``Server(shared).start()``; ``base`` is http://127.0.0.1:PORT."""

    def __init__(self, shared: Path, slow: float = 0.0, tracker: "Tracker | None" = None, robots_bomb: bool = False):
        self.shared = shared
        self.slow = slow  # extra seconds before every response, to make overlap observable
        self.tracker = tracker or Tracker()
        self.robots_bomb = robots_bomb
        self.release_hangs = threading.Event()
        self.disconnects: dict[str, float] = {}
        self.requests: list[tuple[str, float]] = []
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):  # noqa: N802
                with server.lock:
                    server.requests.append((self.path, time.monotonic()))
                    n = sum(1 for p, _ in server.requests if p == self.path)
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                server.tracker.enter()
                try:
                    time.sleep(server.slow)
                    server.route(self, self.path, n)
                finally:
                    server.tracker.leave()
                    with server.lock:
                        server.active -= 1

        self.bomb = gzip.compress(b"<html><body><p>" + b"\x20" * BOMB_INFLATED + b"</p></body></html>", 9)
        self.report_pdf = text_pdf(law_sentences(shared, n=40))
        self.scan_pdf = image_pdf(shared)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self) -> "Server":
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for p, _ in self.requests if p == path)

    def times(self, path: str) -> list[float]:
        with self.lock:
            return [t for p, t in self.requests if p == path]

    def send(self, h, status: int, body: bytes, ctype: str = "text/html; charset=utf-8", headers=(), length=True):
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        for k, v in headers:
            h.send_header(k, v)
        if length:
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        try:
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the crawler aborted a too-large download
            pass

    def in_flight(self, path: str) -> bool:
        """A request for ``path`` arrived and its client has not gone away yet."""
        with self.lock:
            return any(p == path for p, _ in self.requests) and path not in self.disconnects

    def trickle(self, h, path: str, head: bytes, body: bytes, chunk: int = 1, stop: threading.Event | None = None) -> None:
        """Send ``head`` at once, then ``body`` ``chunk`` bytes every TRICKLE_GAP s (cycling), until
        the client hangs up, ``stop`` is set, or TRICKLE_MAX_SECONDS pass."""
        end = time.monotonic() + TRICKLE_MAX_SECONDS
        i = 0
        try:
            h.wfile.write(head)
            while time.monotonic() < end and not (stop is not None and stop.is_set()):
                h.wfile.write(body[i % len(body): i % len(body) + chunk] or body[:chunk])
                i += chunk
                time.sleep(TRICKLE_GAP)
        except (BrokenPipeError, ConnectionResetError):
            with self.lock:
                self.disconnects[path] = time.monotonic()
            return
        h.close_connection = True

    def route(self, h, path: str, n: int) -> None:
        data = lambda rel: (self.shared / rel).read_bytes()  # noqa: E731
        sjis = "text/html; charset=Shift_JIS"
        if path == "/robots.txt" and self.robots_bomb:
            # the real rules first, then ~40 MB of comment: only the first 500 KiB need be read
            bomb = gzip.compress(ROBOTS.encode() + b"#" * (40 * 1024 * 1024), 9)
            return self.send(h, 200, bomb, "text/plain", headers=[("Content-Encoding", "gzip")])
        if path == "/robots.txt":
            return self.send(h, 200, ROBOTS.encode(), "text/plain")
        if path == "/trickle-headers.html":
            return self.trickle(h, path, b"", b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Slow: " + b"a" * 10_000)
        if path == "/trickle-body.html":
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n"
            return self.trickle(h, path, head, b"<p>slow</p>")
        if path == "/endless.html":  # no Content-Length, never finishes; 10 KB/s stays under max_bytes for a while
            return self.trickle(h, path, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n", b"<p>more</p>" * 100, chunk=1000)
        if path == "/bomb.html":
            return self.send(h, 200, self.bomb, headers=[("Content-Encoding", "gzip")])
        if path == "/hang-index.html":
            body = "".join(f'<a href="{u}">{u}</a>' for u in HANG_LINKS)
            return self.send(h, 200, f"<html><body>{body}</body></html>".encode())
        if path.startswith("/hang/"):
            if not self.release_hangs.is_set():
                head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n"
                return self.trickle(h, path, head, b"<p>hang</p>", stop=self.release_hangs)
            return self.send(h, 200, data(LAW_C), sjis)
        if path in ("/", "/index.html"):
            return self.send(h, 200, index_html())
        if path == "/law/a.html":
            return self.send(h, 200, data(LAW_A), sjis)
        if path == "/law/b.html":
            return self.send(h, 200, data(LAW_B), sjis)
        if path == "/law/c.html":
            return self.send(h, 200, data(LAW_C), sjis)
        if path == "/gov/note.html":
            return self.send(h, 200, data(NOTE))
        if path == "/private/secret.html":
            return self.send(h, 200, b"<html><body>secret</body></html>")
        if path == "/redirect-out":
            return self.send(h, 302, b"", headers=[("Location", f"http://localhost:{self.port}/law/a.html")])
        if path == "/redirect-in":
            return self.send(h, 301, b"", headers=[("Location", "/law/c.html")])
        if path == "/big.html":  # no Content-Length: the crawler must cut the stream itself
            return self.send(h, 200, data(BIG), sjis, length=False)
        if path == "/big-declared.html":
            return self.send(h, 200, data(BIG), sjis)
        if path == "/stall.html":
            time.sleep(STALL_SECONDS)
            return self.send(h, 200, data(LAW_A), sjis)
        if path == "/flaky.html":
            if n == 1:
                return self.send(h, 500, b"<html><body>Internal Server Error</body></html>")
            return self.send(h, 200, data(LAW_B), sjis)
        if path == "/busy.html":
            if n == 1:
                return self.send(h, 429, b"<html><body>Too Many Requests</body></html>", headers=[("Retry-After", "1")])
            return self.send(h, 200, data(LAW_C), sjis)
        if path == "/docs/report.pdf":
            return self.send(h, 200, self.report_pdf, "application/pdf")
        if path == "/docs/scan.pdf":
            return self.send(h, 200, self.scan_pdf, "application/pdf")
        if path == "/loop/a.html":
            return self.send(h, 200, loop_html("/loop/b.html"))
        if path == "/loop/b.html":
            return self.send(h, 200, loop_html("/loop/a.html"))
        return self.send(h, 404, b"<html><body>Not Found</body></html>")
