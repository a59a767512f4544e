"""The `corpus fetch` loop: one request at a time, polite per service, every answer into WARC/1.1.

One thread does everything (request, judge, WARC, state, log), so there is exactly one request in
flight at any moment, over all services: the politest reading of "one at a time per service".
Each origin (scheme://host:port: one per service, the e-Gov bulk download shares e-Gov's) waits
its ``delay_seconds`` after an answer before its next request; while one origin waits another may
go. 429 and 5xx answers and transport failures are retried with back-off (Retry-After wins), and
every request has the total deadline of corpus.sources.crawl.fetch.

Every exchange, errors included, is written as WARC request + response + metadata records (the
metadata record is the decision: service, job, kind, outcome, and what the task knew, e.g. the
filing's docID and filer). Recorded URLs are public forms (no Subscription-Key), and every text
and byte written passes the :class:`~corpus.sources.apis.redact.Redactor`.

Stopping (Ctrl-C, SIGTERM: :meth:`ApiFetch.stop`) cancels the request in flight; its task stays
queued, and the next `corpus fetch` of the same directory resumes (state: corpus.sources.apis.state).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from corpus import __version__
from corpus.sources.apis.edinet import Edinet
from corpus.sources.apis.egov import Egov
from corpus.sources.apis.kokkai import Kokkai
from corpus.sources.apis.redact import Redactor
from corpus.sources.apis.service import Service
from corpus.sources.apis.spec import FetchSpec, secrets_from_env
from corpus.sources.apis.state import FetchState
from corpus.sources.apis.tasks import Outcome, Task
from corpus.sources.crawl.decode import decode_content
from corpus.sources.crawl.eventlog import EventLog, ProgressFn
from corpus.sources.crawl.fetch import Fetcher, FetchResult
from corpus.sources.crawl.retry import backoff, decide, retryable_status
from corpus.sources.crawl.warc_out import WarcOutput, repair

LOG_NAME = "fetch-log.jsonl"
STATE_NAME = "fetch-state.sqlite"
MANIFEST_NAME = "fetch-manifest.json"
WARC_DIR = "warc"  # only WARC files here, so `corpus run --input DIR/warc` reads nothing else
DEFAULT_DELAY = 1.0  # for queued tasks of an origin the current spec no longer names


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class OriginState:
    delay: float
    queue: deque = field(default_factory=deque)
    next_at: float = 0.0


@dataclass
class FetchSummary:
    requests: int = 0
    stored: int = 0
    events: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, int] = field(default_factory=dict)  # by state: queued, done, failed
    halted: dict[str, str] = field(default_factory=dict)  # service -> why (a refused key)
    warc_files: list[str] = field(default_factory=list)
    stopped: bool = False


class ApiFetch:
    def __init__(self, spec: FetchSpec, output: Path, environ: dict[str, str] | None = None,
                 progress: ProgressFn | None = None, retry_failed: bool = False):
        """Raises FetchSpecError (before any request) when a key the spec needs is not set."""
        self.spec = spec
        self.output = output
        self.progress = progress
        self.retry_failed = retry_failed
        keys = secrets_from_env(spec, dict(os.environ if environ is None else environ))
        self.redact = Redactor(list(keys.values()))
        self.services: dict[str, Service] = {
            "edinet": Edinet(spec.edinet, keys), "egov_laws": Egov(spec.egov_laws), "kokkai": Kokkai(spec.kokkai),
        }
        self.delays: dict[str, float] = {}
        for job in [*spec.edinet, *spec.egov_laws, *spec.kokkai]:
            for url in (job.base_url, getattr(job, "bulk_url", job.base_url)):
                self.delays[origin(url)] = max(self.delays.get(origin(url), 0.0), job.delay_seconds)
        limits = spec.limits
        self.fetcher = Fetcher(spec.fetch.user_agent, limits.connect_timeout, limits.read_timeout,
                               limits.request_deadline_seconds, max_connections=4)
        self.stop_event = threading.Event()
        self.summary = FetchSummary()

    def stop(self) -> None:
        """Cancel the request in flight (its task stays queued) and end the run. Signal-handler safe."""
        self.stop_event.set()
        self.fetcher.cancel_all()

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> FetchSummary:
        self.output.mkdir(parents=True, exist_ok=True)
        (self.output / WARC_DIR).mkdir(exist_ok=True)
        self.state = FetchState(self.output / STATE_NAME)
        self.events = EventLog(self.output / LOG_NAME, self.progress, self.redact)
        for change in repair(self.output / WARC_DIR, self.state.ledger.committed()):
            self.events.write("warc_repaired", "", detail=change)
        self.warc = WarcOutput(self.output / WARC_DIR, self.spec.fetch.name, self.spec.output.warc_max_bytes,
                               self.spec.output.gzip, self.spec.fetch.user_agent, software="corpus fetch",
                               on_open=self.state.ledger.opened)
        try:
            if self.retry_failed:
                self.events.write("requeue_failed", "", tasks=self.state.requeue_failed())
            new = sum(self.state.add(task) for service in self.services.values() for task in service.seeds())
            queued = self.state.queued()
            self.events.write("start", "", seeds_new=new, queued=len(queued), tasks=self.state.by_state())
            self.origins: OrderedDict[str, OriginState] = OrderedDict()
            for task in queued:
                self.enqueue(task)
            self.loop()
        finally:
            self.fetcher.cancel_all()
            self.fetcher.close()
            self.warc.close()
            self.summary.stopped = self.stop_event.is_set()
            self.summary.warc_files = [p.name for p in self.warc.files]
            self.summary.events = dict(self.events.counts)
            self.summary.tasks = self.state.by_state()
            self.write_manifest()
            self.events.close()
            self.state.close()
        return self.summary

    def enqueue(self, task: Task) -> None:
        key = origin(task.url)
        if key not in self.origins:
            self.origins[key] = OriginState(self.delays.get(key, DEFAULT_DELAY))
        self.origins[key].queue.append([task, 0])  # [task, attempt]

    def next_origin(self) -> OriginState | None:
        return min((o for o in self.origins.values() if o.queue), key=lambda o: o.next_at, default=None)

    def halt(self, service: str, why: str) -> None:
        """Ask ``service`` nothing more this run; its tasks stay queued in the state for the next one."""
        self.summary.halted[service] = why
        for o in self.origins.values():
            o.queue = deque(item for item in o.queue if item[0].service != service)

    def wait_until(self, when: float) -> None:
        while not self.stop_event.is_set() and (left := when - time.monotonic()) > 0:
            time.sleep(min(left, 0.1))

    def loop(self) -> None:
        while not self.stop_event.is_set():
            o = self.next_origin()
            if o is None:
                return
            self.wait_until(o.next_at)
            if self.stop_event.is_set():
                return
            task, attempt = o.queue[0]
            res = self.fetcher.fetch(self.services[task.service].request_url(task), self.spec.limits.max_bytes)
            if res.error == "cancelled":
                self.events.write("interrupted", task.url, job=task.job, kind=task.kind, detail=res.detail)
                return
            self.summary.requests += 1
            self.publish(task, res)
            o.next_at = time.monotonic() + o.delay
            wait = self.handle(task, attempt, res)
            if wait is None:
                if o.queue and o.queue[0][0] is task:  # (a halt has already emptied it)
                    o.queue.popleft()
            else:
                o.queue[0][1] = attempt + 1
                o.next_at = time.monotonic() + max(wait, o.delay)

    def publish(self, task: Task, res: FetchResult) -> None:
        """Make ``res`` safe to record: the public URL, and no secret in headers, detail or body."""
        res.url = task.url
        res.headers = [(k, self.redact(v)) for k, v in res.headers]
        res.request_headers = [(k, self.redact(v)) for k, v in res.request_headers]
        res.detail = self.redact(res.detail)
        res.body, found = self.redact.bytes(res.body)
        if found:
            self.events.write("secret_in_body", task.url, job=task.job, detail="the answer contained the key; replaced by REDACTED in the record")

    # -- outcomes ---------------------------------------------------------------------------
    def handle(self, task: Task, attempt: int, res: FetchResult) -> float | None:
        """Record the answer; returns None when the task is finished (or halted), else the seconds before a retry."""
        base = {"service": task.service, "job": task.job, "kind": task.kind, "attempt": attempt, **task.info}
        if res.error is not None or retryable_status(res):
            verdict = decide(res, attempt, self.spec.retries)
            outcome = Outcome(verdict.give_up or "retry", "failed" if verdict.give_up else "retry",
                              f"HTTP {res.status}" if res.error is None else f"{res.error}: {res.detail}")
            return self.record(task, res, base, outcome, verdict.wait)
        decoded = decode_content(res.body, res.header("content-encoding"), self.spec.limits.max_decoded_bytes)
        if decoded.data is None:
            outcome = Outcome(decoded.error or "undecodable", "failed", decoded.detail)
        else:
            try:
                outcome = self.services[task.service].judge(task, res, decoded.data)
            except Exception as exc:  # noqa: BLE001 - an answer shaped unlike any documented one costs one task, not the run
                outcome = Outcome("bad_response", "failed", f"{type(exc).__name__}: {exc}"[:500])
        wait = backoff(self.spec.retries, attempt)
        if outcome.state == "retry" and attempt >= self.spec.retries.max_retries:
            outcome = Outcome("retries_exhausted", "failed", outcome.detail, facts=outcome.facts)
        return self.record(task, res, base, outcome, wait)

    def record(self, task: Task, res: FetchResult, base: dict, outcome: Outcome, wait: float) -> float | None:
        decision = {**base, "decision": outcome.name, "status": res.status, "detail": outcome.detail, **outcome.facts}
        if outcome.state == "retry":
            decision["wait"] = round(wait, 3)
        fields = {"job": task.job, "kind": task.kind, "status": res.status, "attempt": decision["attempt"]}
        if res.error is None:
            warc, offset, record_id = self.warc.write_exchange(res, decision)
            fields.update(warc=warc, offset=offset, record_id=record_id, bytes=len(res.body),
                          content_type=res.header("content-type"))
        else:
            self.warc.write_decision(task.url, decision)
            fields.update(error=res.error)
        position = self.warc.position()
        if outcome.state in ("retry", "halt"):
            self.state.ledger.commit(*position)
            if outcome.state == "halt":
                self.halt(task.service, outcome.detail)
            self.events.write(outcome.name, task.url, detail=outcome.detail, **fields, **({"wait": decision["wait"]} if outcome.state == "retry" else {}))
            return wait if outcome.state == "retry" else None
        new = self.state.finish(task.url, outcome.state, outcome.name, outcome.detail, outcome.children, position)
        for child in new:
            self.enqueue(child)
        if outcome.name == "stored":
            self.summary.stored += 1
        self.events.write(outcome.name, task.url, detail=outcome.detail, new_tasks=len(new), **fields,
                          **{k: v for k, v in outcome.facts.items() if k not in fields})
        return None

    # -- the manifest -----------------------------------------------------------------------
    def write_manifest(self) -> None:
        """fetch-manifest.json: the spec, what was fetched, and every WARC file with its sha256."""
        files = []
        for path in sorted((self.output / WARC_DIR).glob(f"{self.spec.fetch.name}-*")):
            digest = hashlib.sha256()
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            files.append({"name": path.name, "bytes": path.stat().st_size, "sha256": digest.hexdigest()})
        spec = self.spec.model_dump(mode="json", by_alias=True)
        manifest = {
            "tool": f"jp-corpus {__version__} (corpus fetch)",
            "spec": spec,
            "spec_sha256": hashlib.sha256(json.dumps(spec, sort_keys=True, ensure_ascii=False).encode()).hexdigest(),
            "tasks": self.state.by_state(),
            "outcomes_by_job": self.state.outcomes_by_job(),
            "failed": self.state.failed(),
            "halted": self.summary.halted,
            "warc_files": files,
            "volatile": {"written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "stopped": self.summary.stopped,
                         "requests_this_run": self.summary.requests},
        }
        tmp = self.output / (MANIFEST_NAME + ".tmp")
        tmp.write_text(self.redact(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True)) + "\n", encoding="utf-8")
        tmp.replace(self.output / MANIFEST_NAME)
