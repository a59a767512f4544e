"""`corpus fetch` against a loopback replay of EDINET API v2, the e-Gov 法令API v2 and the 国会会議録 API
(tests/api_server.py: real samples from ../shared/data in the services' documented formats).

Each service: paging, rate-limit answers (429 + Retry-After), server errors, the service's own
error format; EDINET: a refused key, and the key never reaching any file; all: resume after a
SIGTERM and after kill -9, every answer in a WARC that warcio reads whole.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from lxml import etree

from corpus.cli import main
from corpus.sources.apis.runner import ApiFetch
from corpus.sources.apis.spec import FetchSpec, FetchSpecError, load_fetch_spec

from api_server import EDINET_SAMPLE, VALID_KEY, ApiServer, error_info
from warc_check import read_warc_dir

UA = "jp-corpus-test/0.1 (+mailto:corpus-test@example.org)"
REPO = Path(__file__).resolve().parents[1]
FAST = {"max_retries": 2, "backoff_seconds": 0.05}


@pytest.fixture
def servers(shared):
    """One replay server per service: three origins, as in reality."""
    s = {name: ApiServer(shared).start() for name in ("edinet", "egov", "kokkai")}
    yield s
    for srv in s.values():
        srv.stop()


def spec_dict(servers, edinet=(), egov=(), kokkai=(), **over) -> dict:
    data = {
        "fetch": {"name": "api", "user_agent": UA},
        "retries": dict(FAST),
        "edinet": [{"base_url": servers["edinet"].base + "/api/v2", "delay_seconds": 0.05, **j} for j in edinet],
        "egov_laws": [{"base_url": servers["egov"].base + "/api/2", "bulk_url": servers["egov"].base + "/bulkdownload",
                       "delay_seconds": 0.05, **j} for j in egov],
        "kokkai": [{"base_url": servers["kokkai"].base + "/api", "delay_seconds": 0.05, **j} for j in kokkai],
    }
    data.update(over)
    return data


def run_fetch(servers, out: Path, key: str | None = VALID_KEY, **jobs) -> tuple[object, list[dict]]:
    spec = FetchSpec.model_validate(spec_dict(servers, **jobs))
    summary = ApiFetch(spec, out, environ={"EDINET_API_KEY": key} if key else {}).run()
    return summary, read_log(out)


def read_log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "fetch-log.jsonl").read_text(encoding="utf-8").splitlines()]


def every_byte(out: Path) -> bytes:
    """Every file of a fetch directory as stored, WARC files also decompressed."""
    blobs = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        data = path.read_bytes()
        blobs.append(data)
        if path.name.endswith(".gz"):
            blobs.append(gzip.decompress(data))
    return b"\n".join(blobs)


def assert_no_secret(out: Path, secret: str) -> None:
    data = every_byte(out)
    for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
        assert form.encode() not in data, f"secret form {form!r} found under {out}"


EDINET_JOB = {"from": "2025-06-27", "to": "2025-06-30", "doc_types": ["120", "130"]}


def test_edinet_lists_days_downloads_filings_and_records_no_key(servers, tmp_path, shared):
    srv = servers["edinet"]
    busy = json.dumps({"statusCode": 429, "message": "Rate limit is exceeded. Try again in 1 seconds."}).encode()
    srv.script("/api/v2/documents.json", [(429, [("Content-Type", "application/json"), ("Retry-After", "1")], busy)])
    srv.script("/api/v2/documents/S100X991", [(500, [("Content-Type", "text/html")], b"<html><body>Internal Server Error</body></html>")])
    # an error answer that echoes the key (in a header and in its JSON): it must not reach the records either
    echo = {"metadata": {"title": "提出された書類を取得するためのAPI", "parameter": {"type": "1", "Subscription-Key": VALID_KEY},
                         "status": "404", "message": "Not Found"}}
    srv.script("/api/v2/documents/S100GONE", [(200, [("Content-Type", "application/json; charset=utf-8"), ("X-Echo", VALID_KEY)],
                                               json.dumps(echo, ensure_ascii=False).encode())])
    out = tmp_path / "out"
    summary, log = run_fetch(servers, out, edinet=[EDINET_JOB])

    assert summary.stored == 2 and summary.tasks == {"done": 6, "failed": 1} and not summary.halted
    events = {e["url"].split("/api/v2")[1]: e for e in log if e["event"] in ("listed", "stored", "api_error")}
    key = "Subscription-Key=REDACTED"
    assert events[f"/documents.json?date=2025-06-27&type=2&{key}"]["skipped"] == {"doc_type": 1}
    assert events[f"/documents.json?date=2025-06-28&type=2&{key}"]["skipped"] == {"withdrawn": 1}
    assert events[f"/documents.json?date=2025-06-29&type=2&{key}"]["listed"] == 0
    gone = events[f"/documents/S100GONE?type=1&{key}"]
    assert gone["event"] == "api_error" and gone["detail"] == "metadata.status 404: Not Found"
    assert [e["url"] for e in log if e["event"] == "secret_in_body"] == [gone["url"]]
    # the server's side: the key was sent (percent-encoded), the 429 waited out, the 500 retried, the skipped never asked for
    sent = srv.paths()
    assert all(f"Subscription-Key={quote(VALID_KEY, safe='')}" in p for p in sent)
    first_day = [t for p, t in srv.requests if "date=2025-06-27" in p]
    assert len(first_day) == 2 and first_day[1] - first_day[0] >= 1.0
    assert sum("/documents/S100X991?" in p for p in sent) == 2
    assert not any(doc in p for p in sent for doc in ("S100Q140", "S100WDRN"))
    # the WARC: every exchange (429 and 500 included), public URLs, the ZIP as sent, provenance in metadata
    records = read_warc_dir(out / "warc")
    responses = [r for r in records if r.type == "response"]
    assert sorted(int(r.http.get_statuscode()) for r in responses) == [200] * 7 + [429, 500]
    assert all(r.uri.startswith(srv.base + "/api/v2/") and r.uri.endswith(key) for r in records if r.uri and r.type != "warcinfo")
    (filing,) = [r for r in responses if r.uri == f"{srv.base}/api/v2/documents/S100X991?type=1&{key}" and r.http.get_statuscode() == "200"]
    assert filing.payload == srv.zip and filing.http.get_header("Content-Type") == "application/octet-stream"
    names = zipfile.ZipFile(io.BytesIO(filing.payload)).namelist()
    assert names == [f"XBRL/PublicDoc/{p.name}" for p in sorted((shared / EDINET_SAMPLE).iterdir())]
    request = next(r for r in records if r.type == "request" and r.headers.get_header("WARC-Concurrent-To") == filing.headers.get_header("WARC-Record-ID"))
    assert request.http.protocol == "GET" and request.http.statusline == f"/api/v2/documents/S100X991?type=1&{key} HTTP/1.1"
    meta = json.loads(next(r for r in records if r.type == "metadata" and r.headers.get_header("WARC-Refers-To") == filing.headers.get_header("WARC-Record-ID")).payload)
    assert meta["decision"] == "stored" and meta["service"] == "edinet" and meta["list_date"] == "2025-06-28"
    expected = {"docID": "S100X991", "edinetCode": "X99001", "secCode": "11110", "filerName": "Ａ株式会社",
                "docTypeCode": "120", "periodStart": "2024-04-01", "periodEnd": "2025-03-31"}
    assert {k: meta["filing"][k] for k in expected} == expected
    # the manifest lists the failure and hashes every WARC file; no file anywhere holds the key
    manifest = json.loads((out / "fetch-manifest.json").read_text(encoding="utf-8"))
    assert [f["outcome"] for f in manifest["failed"]] == ["api_error"]
    assert manifest["outcomes_by_job"]["edinet.0"] == {"api_error": 1, "listed": 4, "stored": 2}
    assert {f["name"] for f in manifest["warc_files"]} == {p.name for p in (out / "warc").iterdir()}
    assert_no_secret(out, VALID_KEY)


@pytest.mark.parametrize("style", ["200", "401"], ids=["StatusCode-in-HTTP-200", "statusCode-in-HTTP-401"])
def test_a_refused_key_halts_edinet_keeps_its_requests_queued_and_the_rest_goes_on(shared, servers, tmp_path, monkeypatch, style):
    servers["edinet"].stop()
    servers["edinet"] = ApiServer(shared, key_refusal=style).start()
    spec = tmp_path / "fetch.toml"
    spec.write_text(toml_for(spec_dict(servers, edinet=[EDINET_JOB], kokkai=[{"from": "2023-11-01", "until": "2023-11-30"}])), encoding="utf-8")
    out = tmp_path / "out"
    wrong = "wrong-key-0123456789"
    monkeypatch.setenv("EDINET_API_KEY", wrong)
    assert main(["fetch", str(spec), "--output", str(out)]) == 1
    log = read_log(out)
    (refused,) = [e for e in log if e["event"] == "key_refused"]
    assert "statusCode 401: Access denied due to invalid subscription key" in refused["detail"]
    assert len(servers["edinet"].paths()) == 1  # halted after the first refusal, not asked 4 more times
    assert any(e["event"] == "stored" and "/api/meeting" in e["url"] for e in log)  # the Diet job went on
    db = sqlite3.connect(out / "fetch-state.sqlite")
    states = dict(db.execute("SELECT state, COUNT(*) FROM tasks WHERE service='edinet' GROUP BY state").fetchall())
    db.close()
    assert states == {"queued": 4}
    refusal = [r for r in read_warc_dir(out / "warc") if r.type == "response" and "/api/v2/" in r.uri]
    assert len(refusal) == 1 and b"Access denied" in refusal[0].payload  # the refusal itself is on record
    assert_no_secret(out, wrong)
    # with the right key the same command resumes EDINET where it stopped
    monkeypatch.setenv("EDINET_API_KEY", VALID_KEY)
    assert main(["fetch", str(spec), "--output", str(out)]) == 1  # S100GONE fails (404): exit 1 names it
    stored = [e["url"] for e in read_log(out) if e["event"] == "stored" and "/documents/" in e["url"]]
    assert sorted(u.split("/documents/")[1].split("?")[0] for u in stored) == ["S100X991", "S100X992"]
    assert_no_secret(out, VALID_KEY)


def toml_for(data: dict) -> str:
    """A fetch spec dict as TOML (flat values only, which is all these specs use)."""
    def value(v):
        return json.dumps(v, ensure_ascii=False) if not isinstance(v, bool) else str(v).lower()

    lines = []
    for section, body in data.items():
        if isinstance(body, list):
            for item in body:
                lines.append(f"[[{section}]]")
                lines += [f"{k} = {value(v)}" for k, v in item.items()]
        else:
            lines.append(f"[{section}]")
            lines += [f"{k} = {value(v)}" for k, v in body.items()]
    return "\n".join(lines) + "\n"


def test_egov_pages_through_laws_and_stores_each_law_xml_and_the_bulk_archive(servers, tmp_path, shared):
    srv = servers["egov"]
    srv.script("/api/2/laws", [(500, [("Content-Type", "application/xml")], error_info("500001", "サーバ内処理で異常が発生しました。")),
                               (429, [("Content-Type", "text/plain"), ("Retry-After", "1")], b"Too Many Requests")])
    broken = "/api/2/law_data/417AC0000000086_20170401_428AC0000000062"
    srv.script(broken, [(400, [("Content-Type", "application/xml")], error_info("400004", "日付（asof等）が誤っています。"))])
    out = tmp_path / "out"
    summary, log = run_fetch(servers, out, key=None, egov=[{"law_types": ["Act"], "page_size": 4},
                                                          {"mode": "bulk", "category_cd": ["024"]}])
    lists = [p for p in srv.paths("/api/2/laws")]
    assert [("offset=0" in p, "offset=4" in p) for p in lists] == [(True, False)] * 3 + [(False, True)]  # 500, 429, ok, page 2
    waits = [e["wait"] for e in log if e["event"] == "retry"]
    assert waits == [0.05, 1.0]  # back-off after the 500, Retry-After after the 429
    assert all("law_type=Act&limit=4" in p and p.endswith("response_format=xml") for p in lists)
    stored = sorted(e["law_revision_id"] for e in log if e["event"] == "stored" and e["kind"] == "egov_law")
    assert stored == ["327AC0000000231_20240401_505AC0000000063", "330AC1000000186_20250606_505AC0000000044",
                      "405AC0000000047_20260524_504AC0000000048", "405AC0000000088_20240401_504AC0100000052",
                      "505AC0000000032_20240218_000000000000000"]
    (failed,) = [e for e in log if e["event"] == "api_error"]
    assert failed["url"].startswith(srv.base + broken) and failed["detail"] == "error 400004: 日付（asof等）が誤っています。"
    assert summary.stored == 6 and summary.tasks == {"done": 8, "failed": 1}
    # each stored law is the e-Gov envelope around exactly the law XML of the source file
    records = read_warc_dir(out / "warc")
    for r in records:
        if r.type == "response" and "/law_data/" in r.uri and r.http.get_statuscode() == "200":
            assert r.http.get_header("Content-Type") == "application/xml; charset=utf-8"
            root = etree.fromstring(r.payload)
            revision = root.findtext("revision_info/law_revision_id")
            source = next(shared.glob(f"law_xml/*/**/{revision}.xml"))
            law = etree.fromstring(source.read_bytes())
            assert root.tag == "law_data_response" and etree.tostring(root.find("law_full_text/Law"), with_tail=False) == etree.tostring(law)
    (bulk,) = [r for r in records if r.type == "response" and "/bulkdownload" in r.uri]
    assert bulk.uri == srv.base + "/bulkdownload?file_section=2&category_cd=24&only_xml_flag=true"
    assert bulk.http.get_header("Content-Type") == "application/zip" and len(zipfile.ZipFile(io.BytesIO(bulk.payload)).namelist()) == 30


def test_kokkai_pages_by_next_record_position_with_the_services_delay(servers, tmp_path):
    srv = servers["kokkai"]
    srv.script("/api/meeting", [(503, [("Content-Type", "text/html")], b"<html><body>Service Unavailable</body></html>"),
                                (429, [("Content-Type", "text/html"), ("Retry-After", "1")], b"<html><body>Too Many Requests</body></html>")])
    bad = ('<?xml version="1.0" encoding="UTF-8"?><data><message>検索条件の入力に誤りがあります。</message>'
           "<details><detail>maximumRecordsの値は1～100の範囲で指定してください。</detail></details></data>").encode()
    srv.script("/api/speech", [(400, [("Content-Type", "application/xml")], bad)])
    out = tmp_path / "out"
    jobs = [{"from": "2023-11-01", "until": "2023-12-31", "name_of_house": "参議院", "maximum_records": 2, "delay_seconds": 0.4},
            {"from": "2023-11-01", "until": "2023-11-30", "name_of_house": "衆議院"},
            {"from": "2024-01-01", "until": "2024-01-31"},
            {"from": "2023-11-01", "until": "2023-11-30", "endpoint": "speech"}]
    summary, log = run_fetch(servers, out, key=None, kokkai=jobs)
    pages = {(e["job"], e["startRecord"]): e for e in log if e["event"] == "stored"}
    assert pages[("kokkai.0", "1")]["issueIDs"] == ["121215254X00920231206", "121215254X00820231201"]
    assert pages[("kokkai.0", "3")]["issueIDs"] == ["121215254X00720231129"] and pages[("kokkai.0", "3")]["nextRecordPosition"] is None
    assert pages[("kokkai.1", "1")]["issueIDs"] == ["121205124X00220231108", "121205124X00120231101"]
    assert [e["event"] for e in log if e.get("job") == "kokkai.2"] == ["no_records"]
    (error,) = [e for e in log if e["event"] == "api_error"]
    assert error["job"] == "kokkai.3" and "maximumRecordsの値は1～100" in error["detail"]
    assert [e["event"] for e in log if e.get("job") == "kokkai.0"][:3] == ["retry", "retry", "stored"]  # 503, 429, the page
    assert [e["wait"] for e in log if e["event"] == "retry"] == [0.05, 1.0]
    assert summary.tasks == {"done": 4, "failed": 1}
    first = [p for p in srv.paths() if "nameOfHouse=%E5%8F%82" in p]  # 参議院, UTF-8 percent-encoded
    assert len(first) == 4 and "startRecord=3" in first[3]
    kokkai0 = [t for p, t in srv.requests if "nameOfHouse=%E5%8F%82" in p]
    assert kokkai0[2] - kokkai0[1] >= 1.0  # Retry-After: 1 honoured (the job's own delay is 0.4)
    times = [t for _, t in srv.requests]
    assert min(b - a for a, b in zip(times, times[1:])) >= 0.4 - 0.01  # one origin: its largest delay between requests
    pages_in_warc = [r for r in read_warc_dir(out / "warc") if r.type == "response" and r.http.get_statuscode() == "200"]
    for r in pages_in_warc:
        root = etree.fromstring(r.payload)
        assert root.tag == "data" and r.uri.startswith(srv.base + "/api/")


def test_invalid_specs_and_a_missing_key_fail_before_any_request(servers, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("EDINET_API_KEY", raising=False)
    spec = tmp_path / "fetch.toml"
    cases = [
        (spec_dict(servers, edinet=[{**EDINET_JOB, "to": "2025-06-01"}]), "edinet.0: Value error, to (2025-06-01) is before from"),
        (spec_dict(servers, edinet=[{**EDINET_JOB, "api_key": "abc"}]), "edinet.0.api_key: Extra inputs are not permitted"),
        (spec_dict(servers, kokkai=[{"from": "2023-11-01", "until": "2023-11-30", "maximum_records": 50}]), "maximum_records is at most 10"),
        (spec_dict(servers, egov=[{"law_types": ["Statute"]}]), "egov_laws.0.law_types.0"),
        (spec_dict(servers, kokkai=[{"from": "2023-11-01", "until": "2023-11-30", "delay_seconds": "3"}]), "kokkai.0.delay_seconds"),
        (spec_dict(servers, edinet=[{**EDINET_JOB, "base_url": servers["edinet"].base + "/api/v2?Subscription-Key=abc"}]), "takes no query"),
        (spec_dict(servers), "no query: add at least one"),
        (spec_dict(servers, edinet=[EDINET_JOB]), "environment variable EDINET_API_KEY is not set"),
    ]
    for data, message in cases:
        spec.write_text(toml_for(data), encoding="utf-8")
        assert main(["fetch", str(spec), "--output", str(tmp_path / "never")]) == 2
        assert message in capsys.readouterr().err.replace("\n", " "), message
    assert not (tmp_path / "never").exists()
    assert not any(s.requests for s in servers.values())
    with pytest.raises(FetchSpecError):
        load_fetch_spec(tmp_path / "missing.toml")


def test_fetch_sample_spec_is_valid_and_help_explains(capsys):
    sample = load_fetch_spec(REPO / "pipelines" / "fetch-sample.toml")
    assert sample.edinet and sample.egov_laws and sample.kokkai
    assert sample.edinet[0].base_url == "https://api.edinet-fsa.go.jp/api/v2" and sample.kokkai[0].delay_seconds >= 3
    with pytest.raises(SystemExit):
        main(["fetch", "--help"])
    text = capsys.readouterr().out
    for phrase in ("EDINET API v2", "Subscription-Key=REDACTED", "e-Gov 法令API v2", "nextRecordPosition", "--retry-failed", "resumes"):
        assert phrase in text, phrase


def test_fetch_resumes_after_sigterm_and_after_kill_9_without_refetching(servers, tmp_path):
    spec = tmp_path / "fetch.toml"
    data = spec_dict(servers, edinet=[EDINET_JOB], egov=[{"law_types": ["Act"], "page_size": 4}],
                     kokkai=[{"from": "2023-11-01", "until": "2023-12-31", "maximum_records": 1}])
    for section in ("edinet", "egov_laws", "kokkai"):
        for job in data[section]:
            job["delay_seconds"] = 0.3
    spec.write_text(toml_for(data), encoding="utf-8")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO), "EDINET_API_KEY": VALID_KEY}
    cmd = [sys.executable, "-m", "corpus.cli", "fetch", str(spec), "--output", str(out)]

    def stored() -> list[str]:
        """Stored according to the state database (the log is a journal: a kill can come between the two)."""
        if not (out / "fetch-state.sqlite").exists():
            return []
        db = sqlite3.connect(out / "fetch-state.sqlite")
        try:
            return [u for (u,) in db.execute("SELECT url FROM tasks WHERE outcome='stored'")]
        except sqlite3.OperationalError:  # created but not yet initialised
            return []
        finally:
            db.close()

    def run_until(n_stored: int, signum: int) -> float:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            end = time.monotonic() + 60
            while len(stored()) < n_stored and proc.poll() is None and time.monotonic() < end:
                time.sleep(0.02)
            t0 = time.monotonic()
            proc.send_signal(signum)
            proc.communicate(timeout=30)
            return time.monotonic() - t0
        finally:
            if proc.poll() is None:
                proc.kill()

    assert run_until(3, signal.SIGTERM) < 3.0
    read_warc_dir(out / "warc")  # a stopped fetch leaves only whole records
    first = len(stored())
    run_until(first + 3, signal.SIGKILL)
    final = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert final.returncode == 1 and "1 request(s) failed" in final.stderr  # S100GONE, as in a single run
    urls = stored()
    assert len(urls) == len(set(urls)) == 2 + 6 + 5  # filings, laws (the 6 Acts), Diet pages (5 meetings, 1 a page): each stored exactly once
    records = read_warc_dir(out / "warc")  # whole, after the kill: uncommitted bytes were cut on resume
    ok = [r.uri for r in records if r.type == "response" and r.http.get_statuscode() == "200"]
    assert len(ok) == len(set(ok))  # no answer recorded twice
    assert set(urls) <= set(ok)
    for srv in servers.values():  # nothing stored was asked for twice
        asked = [p for p, _ in srv.requests]
        for url in urls:
            if url.startswith(srv.base):
                path = url[len(srv.base):].replace("REDACTED", quote(VALID_KEY, safe=""))
                assert asked.count(path) <= 2, path  # at most: once cut off by the kill, once recorded
    assert_no_secret(out, VALID_KEY)
