"""API bookkeeping that ``corpus fetch`` stores beside the documents: list pages and error answers.

A fetch WARC holds every exchange, so provenance can show how each filing or law was found: the
EDINET 書類一覧API day lists (JSON), the e-Gov 法令一覧取得API pages (``<laws_response>``), and the
errors a service answered with a 2xx status (EDINET ``metadata.status`` 404, a gateway
``statusCode``; e-Gov ``<error_info>``). None of them is text to train on, and none is data lost:
the filings and laws a list names are records of their own. Read as anything else they would be
``unsupported_content_type`` rejections, indistinguishable from a page the pipeline failed to read;
here each is one named outcome of the read stage, with what it was in ``detail``:

- ``api_listing``: a list page (how many entries it listed, for which day or offset);
- ``api_error``: the service's own error answer (its status and message).

The reader takes only payloads inside WARC records (no file suffix; ``format = "api_answer"``
forces it on files), recognised by their first bytes: JSON with EDINET's ``metadata`` or a gateway
``statusCode``, XML whose root is ``laws_response`` or ``error_info``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from lxml import etree

from corpus.document import sha256_hex
from corpus.io.bounded import ReadLimits
from corpus.sources.registry import Reader, register
from corpus.sources.rows import Item, Origin, failure
from corpus.sources.xml import XML_TYPES, parse_xml, refusal, root_tag
from corpus.stage import Rejection

JSON_TYPES = ("application/json", "text/json")
XML_ROOTS = ("laws_response", "error_info")


def _edinet_json(head: bytes) -> bool:
    """EDINET's answers ``{"metadata": {..., "status": ...}}`` or its gateway's ``{"statusCode": 401, "message": ...}``."""
    if not head.lstrip().startswith(b"{"):
        return False
    return (b'"metadata"' in head and b'"status"' in head) or ((b'"statusCode"' in head or b'"StatusCode"' in head) and b'"message"' in head)


def _edinet(obj: Any) -> Rejection:
    if not isinstance(obj, dict):
        return Rejection("api_error", detail="JSON answer that is not an object")
    code = obj.get("statusCode", obj.get("StatusCode"))
    if code is not None:
        return Rejection("api_error", detail=f"API gateway statusCode {code}: {str(obj.get('message', ''))[:300]}")
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    status, message = str(meta.get("status", "")), str(meta.get("message", ""))
    if status != "200":
        return Rejection("api_error", detail=f"EDINET metadata.status {status}: {message}"[:500])
    params = meta.get("parameter") if isinstance(meta.get("parameter"), dict) else {}
    results = obj.get("results")
    listed = len(results) if isinstance(results, list) else (meta.get("resultset") or {}).get("count")
    return Rejection("api_listing", detail=f"EDINET 書類一覧API, date {params.get('date')}: {listed} filing(s) listed; "
                                           "each filing fetched is a record of its own")


def _egov(root: Any) -> Rejection:
    if root.tag == "error_info":
        return Rejection("api_error", detail=f"e-Gov error {root.findtext('code')}: {root.findtext('message')}"[:500])
    laws = root.findall("laws/law")
    return Rejection("api_listing", detail=f"e-Gov 法令一覧取得API page: {len(laws)} law(s) of {root.findtext('total_count')}, "
                                           f"next_offset {root.findtext('next_offset') or 'none'}; each law fetched is a record of its own")


@register
class ApiAnswerReader(Reader):
    kind = "api_answer"
    locator_kind = "api"
    content_types = JSON_TYPES + XML_TYPES
    priority = 2  # its roots are distinct from the Diet and law readers'; asked first, so it costs them nothing
    description = "API list pages and error answers stored by corpus fetch: named non-documents (api_listing, api_error); locator api:<path>"

    def sniff(self, head: bytes) -> bool:
        return _edinet_json(head) or root_tag(head) in XML_ROOTS

    def documents(self, data: bytes, origin: Origin, limits: ReadLimits) -> Iterator[Item]:
        digest = sha256_hex(data)
        if data.lstrip()[:1] == b"{":
            try:
                why = _edinet(json.loads(data.decode("utf-8-sig")))
            except (UnicodeDecodeError, ValueError, RecursionError) as exc:
                why = failure("json_parse_error", exc)
        else:
            try:
                root = parse_xml(data)
                why = _egov(root) if root.tag in XML_ROOTS else Rejection("api_error", detail=f"unexpected root <{root.tag}>")
            except etree.XMLSyntaxError as exc:
                why = refusal(exc, data)
        yield origin.reject(why, raw_sha256=digest)
