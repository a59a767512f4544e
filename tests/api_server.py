"""A loopback replay of the three official APIs, answering in their documented formats from real samples.

- EDINET API v2 (``/api/v2``): 書類一覧API JSON for 2025-06-27..30 whose filings' 書類取得API
  (type=1) answer is a ZIP of the FSA's XBRL sample 有価証券報告書 (filer X99001, shared/data
  finance/edinet_xbrl_sample_X99001) under XBRL/PublicDoc/; a listed filing that the API does not
  have (JSON ``metadata.status`` 404); a refused key (the gateway's ``{"StatusCode": 401, ...}``,
  with HTTP 200 as EDINET sends it, or ``statusCode`` with HTTP 401).
- e-Gov 法令API v2 (``/api/2``): ``/laws`` (<laws_response>, paged by limit/offset with
  next_offset) and ``/law_data/{revision}`` (<law_data_response> around the real law XML of
  shared/data law_xml), ``<error_info>`` errors, and ``/bulkdownload`` (a ZIP of the law XML).
- 国会会議録検索システム API (``/api/meeting``): the 7 real meeting records of shared/data
  diet/kokkai_api_meeting_xml, filtered by from/until/nameOfHouse, newest first, paged by
  startRecord/maximumRecords with nextRecordPosition; ``<data><message>`` errors.

``script(path, answers)`` makes the next requests to a path get scripted answers first (429 with
Retry-After, 500, ...); ``requests`` records every request (path with query, arrival time).
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from lxml import etree

VALID_KEY = "k3y+/=" + "5f0c2e8a9b7d41e6a3c2"  # characters a URL must encode, so redaction of both forms is tested
EDINET_SAMPLE = "finance/edinet_xbrl_sample_X99001"
KOKKAI_FILES = ["diet/kokkai_api_meeting_xml/1-end.xml", "diet/kokkai_api_meeting_xml/212-end.xml",
                "diet/kokkai_api_meeting_xml/212-plane.xml"]
REFUSED = "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."
JSON = "application/json; charset=utf-8"
XML = "application/xml; charset=utf-8"


def filing_zip(shared: Path) -> bytes:
    """The sample's files as EDINET packs a filing: XBRL/PublicDoc/<file>, fixed timestamps."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted((shared / EDINET_SAMPLE).iterdir()):
            zf.writestr(zipfile.ZipInfo(f"XBRL/PublicDoc/{path.name}", (2025, 6, 28, 9, 0, 0)), path.read_bytes())
    return buf.getvalue()


def edinet_entry(seq: int, doc_id: str, doc_type: str, description: str, **over) -> dict:
    """A 書類一覧API result, every field the v2 list has; the filer is the sample's (Ａ株式会社, X99001)."""
    entry = {
        "seqNumber": seq, "docID": doc_id, "edinetCode": "X99001", "secCode": "11110", "JCN": None,
        "filerName": "Ａ株式会社", "fundCode": None, "ordinanceCode": "010", "formCode": "030000",
        "docTypeCode": doc_type, "periodStart": "2024-04-01", "periodEnd": "2025-03-31",
        "submitDateTime": "2025-06-28 09:00", "docDescription": description, "issuerEdinetCode": None,
        "subjectEdinetCode": None, "subsidiaryEdinetCode": None, "currentReportReason": None, "parentDocID": None,
        "opeDateTime": None, "withdrawalStatus": "0", "docInfoEditStatus": "0", "disclosureStatus": "0",
        "xbrlFlag": "1", "pdfFlag": "1", "attachDocFlag": "0", "englishDocFlag": "0", "csvFlag": "1", "legalStatus": "1",
    }
    entry.update(over)
    return entry


EDINET_DAYS = {
    "2025-06-27": [edinet_entry(1, "S100GONE", "120", "有価証券報告書－第99期(2023/04/01－2024/03/31)"),
                   edinet_entry(2, "S100Q140", "140", "四半期報告書－第101期第1四半期", xbrlFlag="1")],
    "2025-06-28": [edinet_entry(1, "S100X991", "120", "有価証券報告書－第100期(2024/04/01－2025/03/31)"),
                   edinet_entry(2, "S100WDRN", "120", "有価証券報告書－第100期(2024/04/01－2025/03/31)", withdrawalStatus="1")],
    "2025-06-29": [],
    "2025-06-30": [edinet_entry(1, "S100X992", "130", "訂正有価証券報告書－第100期(2024/04/01－2025/03/31)",
                                parentDocID="S100X991", submitDateTime="2025-06-30 15:00")],
}
EDINET_FILINGS = {"S100X991", "S100X992"}


def law_records(shared: Path) -> list[dict]:
    """One record per law XML file: ids from the file name, the rest from the XML itself."""
    laws = []
    for path in sorted((shared / "law_xml").glob("*/**/*.xml")):
        if not re.match(r"^\w{15}_\d{8}_\w{15}\.xml$", path.name):
            continue
        data = path.read_bytes()
        root = etree.fromstring(data)
        if root.tag != "Law":
            continue
        laws.append({"law_id": path.name[:15], "revision": path.stem, "date": path.stem[16:24], "law_type": root.get("LawType"),
                     "law_num": (root.findtext("LawNum") or "").strip(), "title": (root.findtext("LawBody/LawTitle") or "").strip(),
                     "law": re.sub(rb"^<\?xml[^>]*\?>\s*", b"", data)})
    return laws


def esc(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def law_info_xml(law: dict) -> str:
    return (f"<law_info><law_type>{law['law_type']}</law_type><law_id>{law['law_id']}</law_id>"
            f"<law_num>{esc(law['law_num'])}</law_num></law_info>")


def revision_info_xml(law: dict, tag: str = "revision_info") -> str:
    d = law["date"]
    return (f"<{tag}><law_revision_id>{law['revision']}</law_revision_id><law_type>{law['law_type']}</law_type>"
            f"<law_title>{esc(law['title'])}</law_title><amendment_enforcement_date>{d[:4]}-{d[4:6]}-{d[6:]}</amendment_enforcement_date>"
            f"<repeal_status>None</repeal_status><mission>New</mission><current_revision_status>CurrentEnforced</current_revision_status></{tag}>")


def error_info(code: str, message: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?><error_info><code>{code}</code><message>{message}</message></error_info>'.encode()


def kokkai_meetings(shared: Path) -> list[tuple[str, str, bytes]]:
    """(date, nameOfHouse, <record>…</record> bytes) of every meeting in the samples, newest first."""
    meetings = []
    for rel in KOKKAI_FILES:
        root = etree.fromstring((shared / rel).read_bytes())
        for record in root.findall("records/record"):
            m = record.find("recordData/meetingRecord")
            meetings.append((m.findtext("date"), m.findtext("nameOfHouse"), etree.tostring(record, encoding="utf-8", xml_declaration=False, with_tail=False)))
    return sorted(meetings, key=lambda t: t[0], reverse=True)


class ApiServer:
    """``ApiServer(shared).start()``; ``base`` is http://127.0.0.1:PORT; every service answers on it."""

    def __init__(self, shared: Path, key_refusal: str = "200"):
        self.shared = shared
        self.key_refusal = key_refusal  # "200": {"StatusCode": 401} with HTTP 200; "401": {"statusCode": 401} with HTTP 401
        self.zip = filing_zip(shared)
        self.laws = law_records(shared)
        self.meetings = kokkai_meetings(shared)
        self.lock = threading.Lock()
        self.requests: list[tuple[str, float]] = []
        self.scripted: dict[str, list[tuple[int, list[tuple[str, str]], bytes]]] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                with server.lock:
                    server.requests.append((self.path, time.monotonic()))
                    path = urlsplit(self.path).path
                    answer = server.scripted.get(path, []).pop(0) if server.scripted.get(path) else None
                if answer is None:
                    answer = server.route(self.path)
                status, headers, body = answer
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self) -> "ApiServer":
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def script(self, path: str, answers: list[tuple[int, list[tuple[str, str]], bytes]]) -> None:
        with self.lock:
            self.scripted.setdefault(path, []).extend(answers)

    def paths(self, prefix: str = "") -> list[str]:
        with self.lock:
            return [p for p, _ in self.requests if p.startswith(prefix)]

    def route(self, raw: str) -> tuple[int, list[tuple[str, str]], bytes]:
        parts = urlsplit(raw)
        q = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        path = parts.path
        if path.startswith("/api/v2/"):
            return self.edinet(path[len("/api/v2"):], q)
        if path.startswith("/api/2/"):
            return self.egov(unquote(path[len("/api/2"):]), q)
        if path == "/bulkdownload":
            return self.bulk(q)
        if path in ("/api/meeting", "/api/speech"):
            return self.kokkai(q)
        return 404, [("Content-Type", "text/html")], b"<html><body>Not Found</body></html>"

    # -- EDINET --------------------------------------------------------------------------------
    def edinet(self, path: str, q: dict) -> tuple[int, list, bytes]:
        if q.get("Subscription-Key") != VALID_KEY:
            name = "StatusCode" if self.key_refusal == "200" else "statusCode"
            body = json.dumps({name: 401, "message": REFUSED}).encode()
            return int(self.key_refusal), [("Content-Type", JSON)], body
        if path == "/documents.json":
            day = q.get("date", "")
            if not re.match(r"^\d{4}-\d{2}-\d{2}$", day):
                meta = {"title": "提出された書類を把握するためのAPI", "parameter": {"date": day, "type": q.get("type")},
                        "status": "400", "message": "Bad Request"}
                return 200, [("Content-Type", JSON)], json.dumps({"metadata": meta}, ensure_ascii=False).encode()
            results = EDINET_DAYS.get(day, [])
            meta = {"title": "提出された書類を把握するためのAPI", "parameter": {"date": day, "type": q.get("type", "1")},
                    "resultset": {"count": len(results)}, "processDateTime": "2025-07-01 00:00", "status": "200", "message": "OK"}
            doc = {"metadata": meta, **({"results": results} if q.get("type") == "2" else {})}
            return 200, [("Content-Type", JSON)], json.dumps(doc, ensure_ascii=False).encode()
        m = re.match(r"^/documents/(\w+)$", path)
        if m and m.group(1) in EDINET_FILINGS and q.get("type") == "1":
            return 200, [("Content-Type", "application/octet-stream"),
                         ("Content-Disposition", f'attachment; filename="{m.group(1)}.zip"')], self.zip
        meta = {"title": "提出された書類を取得するためのAPI", "status": "404", "message": "Not Found"}
        return 200, [("Content-Type", JSON)], json.dumps({"metadata": meta}, ensure_ascii=False).encode()

    # -- e-Gov ---------------------------------------------------------------------------------
    def egov(self, path: str, q: dict) -> tuple[int, list, bytes]:
        if q.get("response_format") != "xml":
            return 400, [("Content-Type", XML)], error_info("400001", "response_format は xml で指定してください。")
        if path == "/laws":
            return self.egov_laws(q)
        m = re.match(r"^/law_data/(\w+)$", path)
        law = next((x for x in self.laws if m and x["revision"] == m.group(1)), None)
        if law is None:
            return 404, [("Content-Type", XML)], error_info("404001", "指定された法令が存在しません。")
        body = (f'<?xml version="1.0" encoding="UTF-8"?><law_data_response>{law_info_xml(law)}{revision_info_xml(law)}'
                f"<law_full_text>").encode() + law["law"] + b"</law_full_text></law_data_response>"
        return 200, [("Content-Type", XML)], body

    def egov_laws(self, q: dict) -> tuple[int, list, bytes]:
        asof = q.get("asof", "").replace("-", "")
        if q.get("asof") and not re.match(r"^\d{8}$", asof):
            return 400, [("Content-Type", XML)], error_info("400004", "日付（asof等）が誤っています。")
        types = set(filter(None, q.get("law_type", "").split(",")))
        latest: dict[str, dict] = {}
        for law in self.laws:
            if (types and law["law_type"] not in types) or (asof and law["date"] > asof):
                continue
            if law["law_id"] not in latest or law["date"] > latest[law["law_id"]]["date"]:
                latest[law["law_id"]] = law
        chosen = [latest[k] for k in sorted(latest)]
        limit, offset = int(q.get("limit", "100")), int(q.get("offset", "0"))
        page = chosen[offset: offset + limit]
        nxt = offset + len(page) if offset + len(page) < len(chosen) else ""
        laws = "".join(f"<law>{law_info_xml(x)}{revision_info_xml(x)}{revision_info_xml(x, 'current_revision_info')}</law>" for x in page)
        body = (f'<?xml version="1.0" encoding="UTF-8"?><laws_response><total_count>{len(chosen)}</total_count>'
                f"<count>{len(page)}</count><next_offset>{nxt}</next_offset><laws>{laws}</laws></laws_response>")
        return 200, [("Content-Type", XML)], body.encode()

    def bulk(self, q: dict) -> tuple[int, list, bytes]:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for law in self.laws:
                zf.writestr(zipfile.ZipInfo(f"{law['revision']}/{law['revision']}.xml", (2025, 1, 1, 0, 0, 0)), law["law"])
        return 200, [("Content-Type", "application/zip")], buf.getvalue()

    # -- 国会会議録 -----------------------------------------------------------------------------
    def kokkai(self, q: dict) -> tuple[int, list, bytes]:
        def error(message: str, detail: str) -> tuple[int, list, bytes]:
            body = (f'<?xml version="1.0" encoding="UTF-8"?><data><message>{message}</message>'
                    f"<details><detail>{detail}</detail></details></data>")
            return 400, [("Content-Type", XML)], body.encode()

        maximum = q.get("maximumRecords", "3")
        if not maximum.isdigit() or not 1 <= int(maximum) <= 10:
            return error("検索条件の入力に誤りがあります。", "maximumRecordsの値は1～10の範囲で指定してください。")
        start = int(q.get("startRecord", "1"))
        found = [m for m in self.meetings if q.get("from", "0000") <= m[0] <= q.get("until", "9999")
                 and (not q.get("nameOfHouse") or m[1] == q["nameOfHouse"])]
        page = found[start - 1: start - 1 + int(maximum)]
        nxt = f"<nextRecordPosition>{start + len(page)}</nextRecordPosition>" if start - 1 + len(page) < len(found) else ""
        head = (f"<data><numberOfRecords>{len(found)}</numberOfRecords><numberOfReturn>{len(page)}</numberOfReturn>"
                f"<startRecord>{start}</startRecord>{nxt}").encode()
        records = b"<records>" + b"".join(r for _, _, r in page) + b"</records>" if page else b""
        return 200, [("Content-Type", XML)], b'<?xml version="1.0" encoding="UTF-8"?>' + head + records + b"</data>"
