"""What every service of `corpus fetch` provides, and the small readers of answers they share.

A service turns its spec sections into seed tasks, says how a task's URL is sent (EDINET adds its
key), and judges a complete answer (any HTTP status but 429/5xx, which the runner retries) into an
:class:`~corpus.sources.apis.tasks.Outcome`. Tasks carry in ``info`` everything needed to judge
them, so a resumed fetch needs nothing else from the spec that made them.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from lxml import etree

from corpus.sources.apis.tasks import Outcome, Task
from corpus.sources.crawl.fetch import FetchResult
from corpus.sources.xml import parse_xml

ZIP_MAGIC = b"PK\x03\x04"


class Service:
    name = ""

    def seeds(self) -> list[Task]:
        raise NotImplementedError

    def request_url(self, task: Task) -> str:
        """The URL as sent; the task's own URL unless a secret goes in."""
        return task.url

    def judge(self, task: Task, res: FetchResult, body: bytes) -> Outcome:
        """``body`` is the response body with its Content-Encoding undone."""
        raise NotImplementedError


def query_url(base: str, params: list[tuple[str, str]]) -> str:
    """``base?params`` in the given order, UTF-8 percent-encoded (commas kept: the APIs' list separator)."""
    return f"{base}?{urlencode(params, quote_via=quote, safe=',')}"


def with_param(url: str, name: str, value: str) -> str:
    """``url`` with one query parameter replaced (its position kept): the next page of a paged query."""
    parts = urlsplit(url)
    params = [(k, value if k == name else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(params, quote_via=quote, safe=",")))


def parse_json(body: bytes) -> Any:
    """The JSON document, or None when the body is not JSON."""
    try:
        return json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return None


def parse_xml_or_none(body: bytes) -> Any:
    """The root element (safe parse: no entities, no network), or None when the body is not XML."""
    try:
        return parse_xml(body)
    except (etree.XMLSyntaxError, ValueError):
        return None


def text(el: Any, path: str) -> str:
    return (el.findtext(path) or "").strip()


def not_understood(res: FetchResult, expected: str) -> Outcome:
    """An answer that is neither what was asked for nor a known error: given up, with what it was."""
    ctype = res.header("content-type") or "no Content-Type"
    if res.status is not None and res.status >= 400:
        return Outcome("http_error", "failed", f"HTTP {res.status} ({ctype})")
    return Outcome("bad_response", "failed", f"expected {expected}, got HTTP {res.status} {ctype}")
