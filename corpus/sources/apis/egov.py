"""e-Gov 法令API Version 2 (デジタル庁): the law list, then each law's XML; or the bulk XML archive.

Requests (https://laws.e-gov.go.jp/api/2/swagger-ui, all answers asked for as XML):
  GET {base}/laws?law_type=…&category_cd=…&law_title=…&asof=…&limit=N&offset=K&response_format=xml
      法令一覧取得API: <laws_response> with total_count, count, next_offset (empty at the end) and
      one <law> per law (<law_info>, <revision_info> of the revision in force at ``asof``).
  GET {base}/law_data/{law_revision_id}?law_full_text_format=xml&response_format=xml
      法令本文取得API: <law_data_response> with law_info, revision_info and <law_full_text><Law>…
      (the envelope the law XML reader reads).
  GET {bulk_url}?file_section=2&category_cd=24&only_xml_flag=true   (file_section=1: every law)
      XML一括ダウンロード: one ZIP of law XML files (category codes without leading zeros).
Errors are <error_info><code>400004</code><message>…</message></error_info> with HTTP 400
(not retried) or 500 (retried by the runner).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from corpus.sources.apis.service import ZIP_MAGIC, Service, not_understood, parse_xml_or_none, query_url, text, with_param
from corpus.sources.apis.spec import EgovLawsJob
from corpus.sources.apis.tasks import Outcome, Task
from corpus.sources.crawl.fetch import FetchResult

SERVICE = "egov_laws"


def list_params(job: EgovLawsJob) -> list[tuple[str, str]]:
    params = []
    if job.law_types:
        params.append(("law_type", ",".join(job.law_types)))
    if job.category_cd:
        params.append(("category_cd", ",".join(job.category_cd)))
    if job.law_title:
        params.append(("law_title", job.law_title))
    if job.asof:
        params.append(("asof", job.asof.isoformat()))
    return params + [("limit", str(job.page_size)), ("offset", "0"), ("response_format", "xml")]


def error_info(root: Any) -> Outcome | None:
    if root is not None and root.tag == "error_info":
        return Outcome("api_error", "failed", f"error {text(root, 'code')}: {text(root, 'message')}")
    return None


class Egov(Service):
    name = SERVICE

    def __init__(self, jobs: list[EgovLawsJob]):
        self.jobs = jobs

    def seeds(self) -> list[Task]:
        tasks = []
        for i, job in enumerate(self.jobs):
            name = f"egov_laws.{i}"
            if job.mode == "bulk":
                sections = [[("file_section", "2"), ("category_cd", str(int(c)))] for c in job.category_cd] or [[("file_section", "1")]]
                for section in sections:
                    tasks.append(Task(query_url(job.bulk_url, section + [("only_xml_flag", "true")]), SERVICE, name, "egov_bulk"))
            else:
                info = {"base_url": job.base_url, "list_offset": 0}
                tasks.append(Task(query_url(f"{job.base_url}/laws", list_params(job)), SERVICE, name, "egov_list", info))
        return tasks

    def judge(self, task: Task, res: FetchResult, body: bytes) -> Outcome:
        if task.kind == "egov_bulk":
            if body.startswith(ZIP_MAGIC):
                return Outcome("stored", "done", facts={"bytes": len(body)})
            return error_info(parse_xml_or_none(body)) or not_understood(res, "a ZIP archive")
        root = parse_xml_or_none(body)
        if (error := error_info(root)) is not None:
            return error
        if task.kind == "egov_law":
            if root is not None and root.tag == "law_data_response" and root.find("law_full_text/Law") is not None:
                return Outcome("stored", "done", facts={"law_revision_id": text(root, "revision_info/law_revision_id"),
                                                        "law_title": text(root, "revision_info/law_title")})
            return not_understood(res, "<law_data_response> with the law's full text")
        if root is None or root.tag != "laws_response":
            return not_understood(res, "<laws_response>")
        return self.judge_list(task, root)

    def judge_list(self, task: Task, root: Any) -> Outcome:
        base = task.info["base_url"]
        children = []
        laws = root.findall("laws/law")
        for law in laws:
            revision = text(law, "revision_info/law_revision_id") or text(law, "current_revision_info/law_revision_id")
            if not revision:
                continue
            url = query_url(f"{base}/law_data/{quote(revision, safe='')}", [("law_full_text_format", "xml"), ("response_format", "xml")])
            info = {"law_id": text(law, "law_info/law_id"), "law_num": text(law, "law_info/law_num"), "law_revision_id": revision,
                    "law_title": text(law, "revision_info/law_title") or text(law, "current_revision_info/law_title")}
            children.append(Task(url, SERVICE, task.job, "egov_law", info))
        offset = int(task.info["list_offset"])
        total, count, after = text(root, "total_count"), text(root, "count"), text(root, "next_offset")
        if after.isdigit():
            nxt: int | None = int(after)
        elif total.isdigit() and offset + len(laws) < int(total) and laws:
            nxt = offset + len(laws)
        else:
            nxt = None
        if nxt is not None and nxt > offset:
            children.append(Task(with_param(task.url, "offset", str(nxt)), SERVICE, task.job, "egov_list", {"base_url": base, "list_offset": nxt}))
        facts = {"list_offset": offset, "total_count": total, "count": count or str(len(laws)), "laws": len(laws), "next_offset": nxt}
        return Outcome("listed", "done", children=children, facts=facts)
