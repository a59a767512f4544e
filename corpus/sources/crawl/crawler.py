"""The crawl loop: politeness, robots.txt, retries, redirects, fetch-once, WARC and crawl log.

Threads: a pool of ``concurrency`` workers only does HTTP. Everything else (frontier, WARC, log,
scheduling) happens on the calling thread, so no file or database is shared between threads.
Politeness is enforced by the scheduler: a host never has more than one request in flight, and
its next request waits ``max(min_delay, Crawl-delay)`` after the previous one ended (longer after a
429/503 with Retry-After, or a backoff). robots.txt is fetched once per origin before any page of
it; a 4xx robots.txt allows everything, a 5xx or unreachable one forbids everything (RFC 9309).

Every decision is one JSON line in ``crawl-log.jsonl`` and, for exchanges, a WARC metadata record.

Stopping (Ctrl-C, SIGTERM: :meth:`Crawler.stop`) cancels the requests in flight (each ends within
a fraction of a second, corpus.sources.crawl.transport), puts their URLs back in the queue (they
stay ``queued`` in the frontier; nothing about them is written) and closes the WARC after its last
whole record, so the next `corpus crawl` of the same directory continues where this one stopped.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, Queue

from protego import Protego

from corpus.sources.crawl.decode import decode_content
from corpus.sources.crawl.eventlog import EventLog, ProgressFn
from corpus.sources.crawl.fetch import Fetcher, FetchResult
from corpus.sources.crawl.frontier import Frontier
from corpus.sources.crawl.links import extract_links
from corpus.sources.crawl.retry import decide, retryable_status
from corpus.sources.crawl.spec import CrawlSpec
from corpus.sources.crawl.urls import Allowlist, canonicalize, origin
from corpus.sources.crawl.warc_out import WarcOutput, repair
from corpus.sources.warc import charset_param

LOG_NAME = "crawl-log.jsonl"
FRONTIER_NAME = "frontier.sqlite"
WARC_DIR = "warc"  # only WARC files here, so `corpus run --input DIR/warc` reads nothing else
HTML_TYPES = ("text/html", "application/xhtml+xml")
DISALLOW_ALL = "User-agent: *\nDisallow: /\n"
ROBOTS_MAX_BYTES = 500 * 1024  # RFC 9309 2.5: parse at least the first 500 KiB


@dataclass
class Task:
    url: str
    depth: int
    via: str | None
    attempt: int = 0


@dataclass
class HostState:
    queue: deque = field(default_factory=deque)
    busy: bool = False
    next_at: float = 0.0
    delay: float = 0.0
    robots: Protego | None = None
    robots_pending: bool = False


@dataclass
class CrawlSummary:
    pages: int = 0
    stored: int = 0
    events: dict[str, int] = field(default_factory=dict)
    warc_files: list[str] = field(default_factory=list)
    stopped: bool = False


class Crawler:
    def __init__(self, spec: CrawlSpec, output: Path, progress: ProgressFn | None = None):
        self.spec = spec
        self.output = output
        self.progress = progress
        self.allow = Allowlist(spec.crawl.allow)
        self.ua = spec.crawl.user_agent
        self.stop_event = threading.Event()
        self.hosts: dict[str, HostState] = {}
        self.summary = CrawlSummary()
        limits = spec.limits
        self.fetcher = Fetcher(self.ua, limits.connect_timeout, limits.read_timeout, limits.request_deadline_seconds,
                               max_connections=spec.politeness.concurrency)

    # -- bookkeeping ----------------------------------------------------------------------
    def log(self, event: str, url: str, **fields) -> dict:
        return self.events.write(event, url, **fields)

    def host(self, url: str) -> HostState:
        key = origin(url)
        if key not in self.hosts:
            self.hosts[key] = HostState(delay=self.spec.politeness.min_delay)
        return self.hosts[key]

    def enqueue(self, url: str, depth: int, via: str | None) -> bool:
        if not self.frontier.add(url, depth, via):
            return False
        self.host(url).queue.append(Task(url, depth, via))
        return True

    # -- main loop --------------------------------------------------------------------------
    def run(self) -> CrawlSummary:
        self.output.mkdir(parents=True, exist_ok=True)
        limits, pol = self.spec.limits, self.spec.politeness
        self.frontier = Frontier(self.output / FRONTIER_NAME)
        self.events = EventLog(self.output / LOG_NAME, self.progress)
        (self.output / WARC_DIR).mkdir(exist_ok=True)
        for change in repair(self.output / WARC_DIR, self.frontier.ledger.committed()):
            self.log("warc_repaired", "", detail=change)
        self.warc = WarcOutput(self.output / WARC_DIR, self.spec.crawl.name, self.spec.output.warc_max_bytes,
                               self.spec.output.gzip, self.ua, on_open=self.frontier.ledger.opened)
        results: Queue = Queue()
        pool = ThreadPoolExecutor(pol.concurrency, thread_name_prefix="crawl")
        try:
            resumed = self.frontier.queued()
            for q in resumed:
                self.host(q.url).queue.append(Task(q.url, q.depth, q.via))
            for seed in self.spec.crawl.seeds:
                url = canonicalize(seed)
                if url and self.enqueue(url, 0, None):
                    self.log("seed", url, depth=0)
            if resumed:
                self.log("resume", "", queued=len(resumed), pages_done=self.frontier.pages_done())
            pages = self.frontier.pages_done()
            inflight = 0
            new_inflight = 0

            def work(kind: str, task: Task, url: str) -> None:
                results.put((kind, task, self.fetcher.fetch(url, limits.max_bytes)))

            def submit(kind: str, task: Task, url: str) -> None:
                pool.submit(work, kind, task, url)

            while True:
                now = time.monotonic()
                stopping = self.stop_event.is_set()
                if not stopping:
                    for key, h in list(self.hosts.items()):
                        if inflight >= pol.concurrency:
                            break
                        if h.busy or not h.queue or h.next_at > now:
                            continue
                        if h.robots is None:
                            h.busy = True
                            inflight += 1
                            submit("robots", Task(f"{key}/robots.txt", 0, None), f"{key}/robots.txt")
                            continue
                        task = h.queue[0]
                        if task.attempt == 0 and pages + new_inflight >= limits.max_pages:
                            continue
                        h.queue.popleft()
                        if not h.robots.can_fetch(task.url, self.ua):
                            self.log("robots_disallowed", task.url, depth=task.depth, via=task.via)
                            self.frontier.finish(task.url, "robots_disallowed", counted=False)
                            continue
                        h.busy = True
                        inflight += 1
                        if task.attempt == 0:
                            new_inflight += 1
                        submit("page", task, task.url)
                if inflight == 0:
                    waiting = [h for h in self.hosts.values() if h.queue]
                    startable = [h for h in waiting if any(t.attempt > 0 for t in h.queue)]
                    if stopping or not waiting or (pages >= limits.max_pages and not startable):
                        break
                timeout = 0.5
                future = [h.next_at - now for h in self.hosts.values() if h.queue and not h.busy]
                if future:
                    timeout = max(0.001, min(timeout, min(future)))
                try:
                    kind, task, res = results.get(timeout=timeout)
                except Empty:
                    continue
                inflight -= 1
                h = self.host(task.url)
                h.busy = False
                if task.attempt == 0 and kind == "page":
                    new_inflight -= 1
                if res.error == "cancelled":  # stopping: the URL stays queued in the frontier
                    self.log("interrupted", task.url, kind=kind, attempt=task.attempt, detail=res.detail)
                    continue
                if kind == "robots":
                    self.handle_robots(h, task.url, res)
                    h.next_at = time.monotonic() + h.delay
                    continue
                counted = self.handle_page(h, task, res)
                if counted:
                    pages += 1
                    self.summary.pages += 1
                h.next_at = max(h.next_at, time.monotonic() + h.delay)
            self.summary.stopped = self.stop_event.is_set()
        finally:
            self.fetcher.cancel_all()
            pool.shutdown(wait=True, cancel_futures=True)
            self.fetcher.close()
            self.warc.close()
            self.summary.warc_files = [p.name for p in self.warc.files]
            self.summary.events = dict(self.events.counts)
            self.events.close()
            self.frontier.close()
        return self.summary

    def stop(self) -> None:
        """Cancel the requests in flight (their URLs stay queued), persist, and return (Ctrl-C, SIGTERM).

        Safe to call from a signal handler: it only sets flags.
        """
        self.stop_event.set()
        self.fetcher.cancel_all()

    # -- outcomes ---------------------------------------------------------------------------
    def handle_robots(self, h: HostState, url: str, res: FetchResult) -> None:
        if res.error is None and res.status is not None and 200 <= res.status < 300:
            text = decode_content(res.body, res.header("content-encoding"), ROBOTS_MAX_BYTES, truncate=True).data or b""
            h.robots, verdict = Protego.parse(text.decode("utf-8", "replace")), "parsed"
        elif res.error is None and res.status is not None and 300 <= res.status < 500:
            h.robots, verdict = Protego.parse(""), "missing: allow all"
        else:
            h.robots, verdict = Protego.parse(DISALLOW_ALL), "unavailable: disallow all"
        delay = h.robots.crawl_delay(self.ua)
        if delay is not None:
            h.delay = max(h.delay, float(delay))
        self.log("robots", url, status=res.status, error=res.error, verdict=verdict, crawl_delay=delay, host_delay=h.delay)

    def handle_page(self, h: HostState, task: Task, res: FetchResult) -> bool:
        """Record the outcome; True when the URL is finished (it then counts against max_pages)."""
        base = {"depth": task.depth, "via": task.via, "attempt": task.attempt}
        if res.error is not None or retryable_status(res):
            verdict = decide(res, task.attempt, self.spec.politeness)
            decision = {**base, "status": res.status, "error": res.error, "detail": res.detail}
            record = {**decision, "decision": verdict.give_up or "retry", "wait": round(verdict.wait, 3)}
            if res.error is None:  # a complete exchange (the 500 or 429 itself) is kept in the WARC
                warc, offset, _ = self.warc.write_exchange(res, record)
                decision.update(warc=warc, offset=offset)
            else:
                self.warc.write_decision(task.url, record)
            if verdict.give_up is None:
                self.frontier.ledger.commit(*self.warc.position())
                h.next_at = time.monotonic() + max(verdict.wait, h.delay)
                h.queue.appendleft(Task(task.url, task.depth, task.via, task.attempt + 1))
                self.log("retry", task.url, wait=round(verdict.wait, 3), **decision)
                return False
            self.frontier.finish(task.url, verdict.give_up, counted=True, warc=self.warc.position())
            self.log(verdict.give_up, task.url, **decision)
            return True
        outcome, extra = self.judge_page(task, res)
        decision = {**base, "status": res.status, "decision": outcome, "bytes": len(res.body), **extra}
        warc, offset, record_id = self.warc.write_exchange(res, decision)
        self.frontier.finish(task.url, outcome, counted=True, warc=self.warc.position())
        self.log(outcome, task.url, warc=warc, offset=offset, record_id=record_id, **{k: v for k, v in decision.items() if k != "decision"})
        if outcome == "fetched":
            self.summary.stored += 1
        return True

    def judge_page(self, task: Task, res: FetchResult) -> tuple[str, dict]:
        """The outcome of a complete exchange (redirect, http_error, too_large_decoded, fetched) and
        what the log says about it; queues the redirect target or the page's allowed links."""
        assert res.status is not None
        location = res.header("location") if 300 <= res.status < 400 else None
        if location:
            target = canonicalize(location, task.url)
            if target is None or not self.allow.allows(target):
                return "redirect_outside_allowlist", {"location": location}
            return "redirect", {"location": target, "new": self.enqueue(target, task.depth, task.url)}
        if res.status >= 400:
            return "http_error", {}
        body = res.body
        if res.header("content-encoding"):
            decoded = decode_content(res.body, res.header("content-encoding"), self.spec.limits.max_decoded_bytes)
            if decoded.error == "too_large_decoded":  # stored as sent; the WARC reader applies its own limit
                return "too_large_decoded", {"detail": decoded.detail}
            if decoded.data is None:
                return "fetched", {"decode_error": decoded.detail}
            body = decoded.data
        ctype = (res.header("content-type") or "text/html").split(";")[0].strip().lower()
        if task.depth >= self.spec.limits.max_depth or ctype not in HTML_TYPES:
            return "fetched", {}
        links = extract_links(body, charset_param(res.header("content-type")), task.url)
        allowed = [u for u in links if self.allow.allows(u)]
        added = sum(self.enqueue(u, task.depth + 1, task.url) for u in allowed)
        return "fetched", {"links": len(links), "links_allowed": len(allowed), "links_new": added}
