"""国会会議録検索システム 検索用API (国立国会図書館): meetings (or speeches) by date range and house, paged.

Requests (https://kokkai.ndl.go.jp/api.html):
  GET {base}/meeting?from=YYYY-MM-DD&until=YYYY-MM-DD&nameOfHouse=…&nameOfMeeting=…
      &maximumRecords=N&startRecord=K&recordPacking=xml
  (``/speech`` takes the same parameters.) ``meeting`` returns at most 10 records a request with
  every speech's text; ``speech`` at most 100 speeches.
Answers are ``<data>`` with numberOfRecords, numberOfReturn, startRecord, nextRecordPosition (only
when more follow) and records; an error is ``<data><message>…</message><details><detail>…``.
Every page is stored as a document source (the Diet reader turns its meetings into documents);
the next page is queued from nextRecordPosition. The NDL asks for one request at a time with a few
seconds between them: ``delay_seconds`` defaults to 3.
"""

from __future__ import annotations

from corpus.sources.apis.service import Service, not_understood, parse_xml_or_none, query_url, text, with_param
from corpus.sources.apis.spec import KokkaiJob
from corpus.sources.apis.tasks import Outcome, Task
from corpus.sources.crawl.fetch import FetchResult

SERVICE = "kokkai"


def page_params(job: KokkaiJob) -> list[tuple[str, str]]:
    params = [("from", job.from_.isoformat()), ("until", job.until.isoformat())]
    if job.name_of_house:
        params.append(("nameOfHouse", job.name_of_house))
    if job.name_of_meeting:
        params.append(("nameOfMeeting", job.name_of_meeting))
    return params + [("maximumRecords", str(job.page_size)), ("startRecord", "1"), ("recordPacking", "xml")]


class Kokkai(Service):
    name = SERVICE

    def __init__(self, jobs: list[KokkaiJob]):
        self.jobs = jobs

    def seeds(self) -> list[Task]:
        return [Task(query_url(f"{job.base_url}/{job.endpoint}", page_params(job)), SERVICE, f"kokkai.{i}", "kokkai_page",
                     {"start_record": 1}) for i, job in enumerate(self.jobs)]

    def judge(self, task: Task, res: FetchResult, body: bytes) -> Outcome:
        root = parse_xml_or_none(body)
        if root is None or root.tag != "data":
            return not_understood(res, "a <data> answer")
        message = root.findtext("message")
        if message is not None:
            details = " ".join((d.text or "").strip() for d in root.iter("detail"))
            return Outcome("api_error", "failed", f"{message.strip()} {details}".strip())
        total, returned, start = text(root, "numberOfRecords"), text(root, "numberOfReturn"), text(root, "startRecord")
        facts = {"numberOfRecords": total, "numberOfReturn": returned, "startRecord": start,
                 "issueIDs": [t.strip() for t in root.xpath("records/record/recordData/*/issueID/text()")]}
        records = root.findall("records/record")
        if not records:
            return Outcome("no_records", "done", facts=facts)
        children = []
        nxt = text(root, "nextRecordPosition")
        if nxt.isdigit() and int(nxt) > int(task.info["start_record"]):
            children.append(Task(with_param(task.url, "startRecord", nxt), SERVICE, task.job, "kokkai_page", {"start_record": int(nxt)}))
        return Outcome("stored", "done", children=children, facts={**facts, "nextRecordPosition": nxt or None})
