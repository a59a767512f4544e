"""EDINET API v2 (金融庁): the document list of each day, then the filing package (ZIP) of each listed filing.

Requests (EDINET API 仕様書 Version 2):
  GET {base}/documents.json?date=YYYY-MM-DD&type=2&Subscription-Key=…   書類一覧API (metadata + results)
  GET {base}/documents/{docID}?type=1&Subscription-Key=…                書類取得API, type 1: 提出本文書及び監査報告書 (ZIP)

Answers and how they are read:
- The list is JSON: ``metadata.status`` "200" and ``results`` (one object per filing: docID,
  edinetCode, secCode, filerName, docTypeCode, periodStart/End, xbrlFlag, withdrawalStatus, ...).
  A filing is downloaded when its docTypeCode is asked for, it has XBRL (type 1 needs it), and it
  is neither withdrawn nor withheld; the others are counted in the list's ``skipped``.
- A filing is a ZIP (``PK\\x03\\x04``, Content-Type application/octet-stream); an error is JSON
  with ``metadata.status`` (e.g. "404") instead, often with HTTP 200.
- A refused Subscription-Key is answered by the API gateway with JSON ``{"statusCode": 401,
  "message": "Access denied due to invalid subscription key..."}`` (``StatusCode`` in some
  answers, HTTP 200 or 401): the service is halted for the run, its tasks stay queued.

The key is a query parameter: tasks hold the URL with ``Subscription-Key=REDACTED`` and only
:meth:`Edinet.request_url` puts the real key in, at send time (corpus.sources.apis.redact).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from corpus.sources.apis.redact import PLACEHOLDER
from corpus.sources.apis.service import ZIP_MAGIC, Service, not_understood, parse_json, query_url
from corpus.sources.apis.spec import EdinetJob
from corpus.sources.apis.tasks import Outcome, Task
from corpus.sources.crawl.fetch import FetchResult

SERVICE = "edinet"
KEY_PARAM = "Subscription-Key"
#: What the WARC metadata record keeps of a filing's list entry (provenance for the filing reader).
DOC_FIELDS = ("docID", "edinetCode", "secCode", "JCN", "filerName", "docTypeCode", "ordinanceCode", "formCode",
              "periodStart", "periodEnd", "submitDateTime", "docDescription", "parentDocID")


def gateway_error(data: Any) -> tuple[int, str] | None:
    """(statusCode, message) of an API-gateway answer (key refused, rate limit), else None."""
    if isinstance(data, dict):
        code = data.get("statusCode", data.get("StatusCode"))
        if isinstance(code, (int, str)) and str(code).isdigit():
            return int(code), str(data.get("message", ""))
    return None


def api_status(data: Any) -> tuple[str, str] | None:
    """(metadata.status, metadata.message) of an EDINET answer, else None."""
    meta = data.get("metadata") if isinstance(data, dict) else None
    if isinstance(meta, dict) and "status" in meta:
        return str(meta.get("status")), str(meta.get("message", ""))
    return None


def error_outcome(data: Any) -> Outcome | None:
    """The outcome of an error answer (gateway or API), or None when ``data`` is not one."""
    gateway = gateway_error(data)
    if gateway is not None:
        code, message = gateway
        if code == 401:
            return Outcome("key_refused", "halt", f"statusCode 401: {message}")
        if code == 429 or code >= 500:
            return Outcome("api_busy", "retry", f"statusCode {code}: {message}")
        return Outcome("api_error", "failed", f"statusCode {code}: {message}")
    status = api_status(data)
    if status is not None and status[0] != "200":
        code, message = status
        if code.isdigit() and (int(code) == 429 or int(code) >= 500):
            return Outcome("api_busy", "retry", f"metadata.status {code}: {message}")
        return Outcome("api_error", "failed", f"metadata.status {code}: {message}")
    return None


class Edinet(Service):
    name = SERVICE

    def __init__(self, jobs: list[EdinetJob], keys: dict[str, str]):
        self.jobs = jobs
        self.keys = keys  # key_env -> Subscription-Key

    def seeds(self) -> list[Task]:
        tasks = []
        for i, job in enumerate(self.jobs):
            day = job.from_
            while day <= job.to:
                url = query_url(f"{job.base_url}/documents.json", [("date", day.isoformat()), ("type", "2"), (KEY_PARAM, PLACEHOLDER)])
                info = {"date": day.isoformat(), "doc_types": list(job.doc_types), "base_url": job.base_url, "key_env": job.key_env}
                tasks.append(Task(url, SERVICE, f"edinet.{i}", "edinet_list", info))
                day += timedelta(days=1)
        return tasks

    def request_url(self, task: Task) -> str:
        marker = f"{KEY_PARAM}={PLACEHOLDER}"
        assert marker in task.url, task.url
        return task.url.replace(marker, f"{KEY_PARAM}={quote(self.keys[task.info['key_env']], safe='')}")

    def judge(self, task: Task, res: FetchResult, body: bytes) -> Outcome:
        if task.kind == "edinet_doc":
            return self.judge_filing(res, body)
        return self.judge_list(task, res, body)

    def judge_list(self, task: Task, res: FetchResult, body: bytes) -> Outcome:
        data = parse_json(body)
        if data is None:
            return not_understood(res, "a JSON document list")
        error = error_outcome(data)
        if error is not None:
            return error
        results = data.get("results") if isinstance(data, dict) else None
        if api_status(data) is None or not isinstance(results, list):
            return not_understood(res, "metadata and results")
        wanted = set(task.info.get("doc_types") or ())
        children, skipped = [], Counter()
        for entry in results:
            doc_id = entry.get("docID") if isinstance(entry, dict) else None
            if not isinstance(doc_id, str) or not doc_id:
                skipped["no_docID"] += 1
            elif wanted and entry.get("docTypeCode") not in wanted:
                skipped["doc_type"] += 1
            elif entry.get("withdrawalStatus") not in (None, "0"):
                skipped["withdrawn"] += 1
            elif entry.get("disclosureStatus") in ("1", "2"):
                skipped["withheld"] += 1
            elif entry.get("xbrlFlag") != "1":
                skipped["no_xbrl"] += 1
            else:
                url = query_url(f"{task.info['base_url']}/documents/{quote(doc_id, safe='')}", [("type", "1"), (KEY_PARAM, PLACEHOLDER)])
                info = {"key_env": task.info["key_env"], "list_date": task.info["date"],
                        "filing": {k: entry.get(k) for k in DOC_FIELDS}}
                children.append(Task(url, SERVICE, task.job, "edinet_doc", info))
        facts = {"date": task.info["date"], "listed": len(results), "to_download": len(children), "skipped": dict(sorted(skipped.items()))}
        return Outcome("listed", "done", children=children, facts=facts)

    def judge_filing(self, res: FetchResult, body: bytes) -> Outcome:
        if body.startswith(ZIP_MAGIC):
            return Outcome("stored", "done", facts={"bytes": len(body)})
        error = error_outcome(parse_json(body))
        return error if error is not None else not_understood(res, "a ZIP filing package")
