"""The crawl loop: politeness, robots.txt, retries, redirects, fetch-once, WARC and crawl log.

Threads: a pool of ``concurrency`` workers only does HTTP. Everything else (frontier, WARC, log,
scheduling) happens on the calling thread, so no file or database is shared between threads.
Politeness is enforced by the scheduler: a host never has more than one request in flight, and
its next request waits ``max(min_delay, Crawl-delay)`` after the previous one ended (longer after a
429/503 with Retry-After, or a backoff). robots.txt is fetched once per origin before any page of
it; a 4xx robots.txt allows everything, a 5xx or unreachable one forbids everything (RFC 9309).

Every decision is one JSON line in ``crawl-log.jsonl`` and, for exchanges, a WARC metadata record.
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from queue import Empty, Queue

from protego import Protego

from corpus.sources.crawl.fetch import FetchResult, fetch, make_client
from corpus.sources.crawl.frontier import Frontier
from corpus.sources.crawl.links import decoded_body, extract_links
from corpus.sources.crawl.spec import CrawlSpec
from corpus.sources.crawl.urls import Allowlist, canonicalize, origin
from corpus.sources.crawl.warc_out import WarcOutput
from corpus.sources.warc import charset_param

LOG_NAME = "crawl-log.jsonl"
FRONTIER_NAME = "frontier.sqlite"
WARC_DIR = "warc"  # only WARC files here, so `corpus run --input DIR/warc` reads nothing else
HTML_TYPES = ("text/html", "application/xhtml+xml")
DISALLOW_ALL = "User-agent: *\nDisallow: /\n"

#: (event, url, log entry) -> None; the CLI prints progress from it.
ProgressFn = Callable[[str, str, dict], None]


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


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unparsable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


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

    # -- bookkeeping ----------------------------------------------------------------------
    def log(self, event: str, url: str, **fields) -> dict:
        entry = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "event": event, "url": url, **fields}
        self.log_fh.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
        self.log_fh.flush()
        self.summary.events[event] = self.summary.events.get(event, 0) + 1
        if self.progress:
            self.progress(event, url, entry)
        return entry

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

    def backoff(self, attempt: int) -> float:
        p = self.spec.politeness
        return min(p.max_backoff_seconds, p.backoff_seconds * 2**attempt)

    # -- main loop --------------------------------------------------------------------------
    def run(self) -> CrawlSummary:
        self.output.mkdir(parents=True, exist_ok=True)
        limits, pol = self.spec.limits, self.spec.politeness
        self.frontier = Frontier(self.output / FRONTIER_NAME)
        self.log_fh = (self.output / LOG_NAME).open("a", encoding="utf-8")
        (self.output / WARC_DIR).mkdir(exist_ok=True)
        self.warc = WarcOutput(self.output / WARC_DIR, self.spec.crawl.name, self.spec.output.warc_max_bytes, self.spec.output.gzip, self.ua)
        client = make_client(self.ua, limits.connect_timeout, limits.read_timeout, pol.concurrency)
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
                try:
                    res = fetch(client, url, limits.max_bytes)
                except Exception as exc:  # e.g. httpx.InvalidURL: a result must always come back
                    res = FetchResult(url, error="protocol", detail=f"{type(exc).__name__}: {exc}"[:500])
                results.put((kind, task, res))

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
                if kind == "robots":
                    self.handle_robots(h, task.url, res)
                    h.next_at = time.monotonic() + h.delay
                    continue
                if task.attempt == 0:
                    new_inflight -= 1
                counted = self.handle_page(h, task, res)
                if counted:
                    pages += 1
                    self.summary.pages += 1
                h.next_at = max(h.next_at, time.monotonic() + h.delay)
            self.summary.stopped = self.stop_event.is_set()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            client.close()
            self.warc.close()
            self.summary.warc_files = [p.name for p in self.warc.files]
            self.log_fh.close()
            self.frontier.close()
        return self.summary

    def stop(self) -> None:
        """Finish the requests in flight, persist, and return (Ctrl-C does this)."""
        self.stop_event.set()

    # -- outcomes ---------------------------------------------------------------------------
    def handle_robots(self, h: HostState, url: str, res: FetchResult) -> None:
        if res.error is None and res.status is not None and 200 <= res.status < 300:
            text = decoded_body(res.body, res.header("content-encoding")).decode("utf-8", "replace")
            h.robots, verdict = Protego.parse(text), "parsed"
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
        pol = self.spec.politeness
        base = {"depth": task.depth, "via": task.via, "attempt": task.attempt}
        retryable_status = res.error is None and res.status is not None and (res.status == 429 or res.status >= 500)
        if res.error is not None or retryable_status:
            wait = self.backoff(task.attempt)
            if retryable_status:
                ra = retry_after_seconds(res.header("retry-after"))
                if ra is not None:
                    wait = ra
            give_up = None
            if res.error == "too_large":
                give_up = "too_large"
            elif task.attempt >= pol.max_retries:
                give_up = "retries_exhausted"
            elif retryable_status and wait > pol.max_retry_after_seconds:
                give_up = "retry_after_too_long"
            decision = {**base, "status": res.status, "error": res.error, "detail": res.detail}
            verdict = {**decision, "decision": give_up or "retry", "wait": round(wait, 3)}
            if res.error is None:  # a complete exchange (the 500 or 429 itself) is kept in the WARC
                warc, offset, _ = self.warc.write_exchange(res, verdict)
                decision.update(warc=warc, offset=offset)
            else:
                self.warc.write_decision(task.url, verdict)
            if give_up is None:
                h.next_at = time.monotonic() + max(wait, h.delay)
                h.queue.appendleft(Task(task.url, task.depth, task.via, task.attempt + 1))
                self.log("retry", task.url, wait=round(wait, 3), **decision)
                return False
            self.log(give_up, task.url, **decision)
            self.frontier.finish(task.url, give_up, counted=True)
            return True
        location = res.header("location") if 300 <= res.status < 400 else None
        outcome, extra = "fetched", {}
        if location:
            target = canonicalize(location, task.url)
            if target is None or not self.allow.allows(target):
                outcome, extra = "redirect_outside_allowlist", {"location": location}
            else:
                new = self.enqueue(target, task.depth, task.url)
                outcome, extra = "redirect", {"location": target, "new": new}
        elif 400 <= res.status:
            outcome = "http_error"
        elif task.depth < self.spec.limits.max_depth and (res.header("content-type") or "text/html").split(";")[0].strip().lower() in HTML_TYPES:
            links = extract_links(decoded_body(res.body, res.header("content-encoding")), charset_param(res.header("content-type")), task.url)
            allowed = [u for u in links if self.allow.allows(u)]
            added = sum(self.enqueue(u, task.depth + 1, task.url) for u in allowed)
            extra = {"links": len(links), "links_allowed": len(allowed), "links_new": added}
        decision = {**base, "status": res.status, "decision": outcome, "bytes": len(res.body), **extra}
        warc, offset, record_id = self.warc.write_exchange(res, decision)
        self.log(outcome, task.url, warc=warc, offset=offset, record_id=record_id, **{k: v for k, v in decision.items() if k != "decision"})
        self.frontier.finish(task.url, outcome, counted=True)
        if outcome == "fetched":
            self.summary.stored += 1
        return True
