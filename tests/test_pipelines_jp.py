"""The ready pipelines, end to end against the loopback replay: pipelines/jp-finance.* and
pipelines/jp-government.* exactly as shipped, except for what must point at 127.0.0.1.

Each test fetches (tests/api_server.py: EDINET, e-Gov 法令API, 国会会議録 API in their documented
formats, from the real samples) and crawls (tests/crawl_server.py: real pages) into WARC with
`corpus fetch` / `corpus crawl`, runs `corpus run` over the WARCs, and checks that `corpus audit`
passes, that the documents the pipeline exists for (filing sections, laws, Diet meetings) are in
the shards with their provenance (locator that reopens the record's bytes, URL, licence decided by
the source registry), that what was dropped says why, and what `corpus stats` reports.

What the test changes, in copies written under tmp_path (the shipped files are never edited):
the specs' base URLs and seeds (the replay), delays (0.05 s), the run spec's input paths and
tokenizer path (absolute), and the source registry: each replay origin is added as a URL prefix of
the real source it stands in for (the EDINET replay for edinet-filings, the crawl server for the FSA
or a ministry), because the registry decides licences by the real hosts, which a loopback server
cannot have.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import tomli_w
from lxml import etree

from corpus.cli import main
from corpus.document import sha256_hex
from corpus.pipeline.runner import run_pipeline
from corpus.pipeline.spec import load_spec
from corpus.provenance.audit import audit
from corpus.sources.registry import open_locator

from api_server import VALID_KEY, ApiServer, kokkai_meetings
from conftest import REPO, SAMPLE_MODEL
from crawl_server import Server

FAST_RETRIES = {"max_retries": 2, "backoff_seconds": 0.05, "max_retry_after_seconds": 5.0}


def load(name: str) -> dict:
    return tomllib.loads((REPO / "pipelines" / name).read_text(encoding="utf-8"))


def write(path: Path, data: dict) -> Path:
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def registry_with(tmp_path: Path, prefixes: dict[str, list[str]]) -> Path:
    """filters/sources.toml with replay origins added as URL prefixes of the sources they stand in for."""
    data = tomllib.loads((REPO / "filters" / "sources.toml").read_text(encoding="utf-8"))
    for entry in data["source"]:
        entry["prefixes"] = entry.get("prefixes", []) + prefixes.get(entry["id"], [])
    assert set(prefixes) <= {e["id"] for e in data["source"]}
    return write(tmp_path / "sources.toml", data)


def crawl_copy(tmp_path: Path, name: str, pages: list[str]) -> Path:
    spec = load(name)
    spec["crawl"]["seeds"] = spec["crawl"]["allow"] = pages
    spec["limits"]["max_pages"] = 20
    spec["politeness"].update(min_delay=0.05, backoff_seconds=0.05)
    return write(tmp_path / name, spec)


def run_copy(tmp_path: Path, name: str, inputs: list[Path], registry: Path) -> Path:
    spec = load(name)
    for inp, path in zip(spec["inputs"], inputs, strict=True):
        inp["path"] = str(path)
    spec["tokenizer"]["model"] = str(SAMPLE_MODEL)
    spec["license_policy"]["sources_file"] = str(registry)
    return write(tmp_path / name, spec)


def crawl_and_run(tmp_path: Path, name: str, pages: list[str], prefixes: dict[str, list[str]]) -> tuple[Path, dict, list[dict], list[dict]]:
    """Crawl ``pages`` with the pipeline's crawl spec, run its run spec over both WARC directories
    (the fetch already done), audit: (output, manifest, kept rows, rejected rows)."""
    assert main(["crawl", str(crawl_copy(tmp_path, f"{name}.crawl.toml", pages)), "--output", str(tmp_path / "crawl")]) == 0
    spec = run_copy(tmp_path, f"{name}.toml", [tmp_path / "fetch" / "warc", tmp_path / "crawl" / "warc"], registry_with(tmp_path, prefixes))
    out = tmp_path / "run"
    manifest = run_pipeline(load_spec(spec), out).manifest
    report = audit(str(out))
    assert report.ok, [str(f) for f in report.findings]
    assert manifest["totals"]["accounting_ok"]
    return out, manifest, shard_rows(out), rejected_rows(out)


def shard_rows(out: Path) -> list[dict]:
    rows = []
    for path in sorted((out / "shards").glob("*.parquet")):
        rows += pq.read_table(path).to_pylist()
    return rows


def rejected_rows(out: Path) -> list[dict]:
    rows = []
    for path in sorted((out / "rejected").glob("*.parquet")):
        rows += pq.read_table(path).to_pylist()
    return rows


def reopens(out: Path, row: dict) -> bool:
    roots = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["input_roots"]
    return sha256_hex(open_locator(row["locator"], roots).payload) == row["raw_sha256"]


def stats_json(out: Path, capsys) -> dict:
    capsys.readouterr()
    assert main(["stats", str(out), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def web(shared):
    srv = Server(shared).start()
    yield srv
    srv.stop()


def test_jp_finance_pipeline_end_to_end(shared, tmp_path, web, ray_local, monkeypatch, capsys):
    api = ApiServer(shared).start()
    try:
        fetch = load("jp-finance.fetch.toml")
        for job in fetch["edinet"]:
            job.update(base_url=api.base + "/api/v2", delay_seconds=0.05)
        fetch["retries"].update(FAST_RETRIES)
        monkeypatch.setenv("EDINET_API_KEY", VALID_KEY)
        # 1: one listed filing is missing from the API (metadata.status 404): exit 1, the rest stored
        assert main(["fetch", str(write(tmp_path / "fetch.toml", fetch)), "--output", str(tmp_path / "fetch")]) == 1
        failed = json.loads((tmp_path / "fetch" / "fetch-manifest.json").read_text(encoding="utf-8"))["failed"]
        assert [f["url"].split("?")[0].rsplit("/", 1)[1] for f in failed] == ["S100GONE"]
    finally:
        api.stop()
    out, manifest, kept, rejected = crawl_and_run(tmp_path, "jp-finance", [web.base + "/gov/note.html", web.base + "/law/a.html"],
                                                  {"edinet-filings": [api.base + "/api/v2/"], "fsa": [web.base + "/"]})
    # the filing section written out in full is in the shards, with the filing and its provenance
    capex = [r for r in kept if r["section"] == "OverviewOfCapitalExpendituresEtcTextBlock"]
    assert len(capex) == 1
    row = capex[0]
    assert row["locator"].startswith("warc:edinet/jp-finance-edinet-00000.warc.gz#")
    assert row["locator"].endswith("/S100X991/OverviewOfCapitalExpendituresEtcTextBlock")
    assert (row["filing_id"], row["filer_code"], row["security_code"], row["doc_type"], row["period"]) == (
        "S100X991", "X99001", "11110", "有価証券報告書", "2024-04-01/2025-03-31")
    assert row["text"].startswith("1【設備投資等の概要】\n当社グループでは、急速な技術革新や販売競争の激化に対処するため")
    assert row["url"].endswith("/api/v2/documents/S100X991?type=1&Subscription-Key=REDACTED")
    assert (row["license"], row["legal_basis"], row["train_ok"], row["redistribute_ok"]) == (
        "LicenseRef-JP-ThirdParty", "art30_4_train_only", True, False)
    assert any(e["rule"] == "source_registry:edinet-filings" and e["decisive"] for e in json.loads(row["license_evidence"]))
    assert reopens(out, row) and VALID_KEY not in json.dumps(kept, ensure_ascii=False, default=str)
    # the 訂正 filing repeats the section: an exact duplicate of the kept one
    dup = [r for r in rejected if r["locator"].endswith("/S100X992/OverviewOfCapitalExpendituresEtcTextBlock")]
    assert [(r["stage"], r["reason"], r["duplicate_of"]) for r in dup] == [("dedup_exact", "exact_duplicate", row["doc_id"])]
    # numeric tables are dropped as such; API list pages and the 404 answer are named, not data loss
    reasons = [(r["stage"], r["reason"]) for r in rejected]
    balance = [r for r in rejected if "/S100X991/ConsolidatedBalanceSheetTextBlock/table" in r["locator"]]
    assert balance and all((r["reason"], r["threshold"]) == ("max_numeric_cell_fraction", 0.5) for r in balance)
    assert reasons.count(("read", "api_listing")) == 5 and reasons.count(("read", "api_error")) == 1
    assert ("extract", "unsupported_content_type") not in reasons
    # crawled pages: licensed by the registry entry of the site they stand in for
    pages_kept = [r for r in kept if r["url"] and r["url"].startswith(web.base)]
    assert pages_kept and all(r["license"] == "LicenseRef-JP-PDL-1.0" and r["redistribute_ok"] for r in pages_kept)
    assert all(reopens(out, r) for r in pages_kept)

    stats = stats_json(out, capsys)
    assert stats["documents"] == len({r["doc_id"] for r in kept}) == manifest["totals"]["kept"]
    assert stats["tokens"] == sum(r["n_tokens"] for r in kept)
    assert stats["by_doc_type"]["有価証券報告書"]["documents"] == sum(1 for r in kept if r["doc_type"] == "有価証券報告書")
    assert stats["by_license"]["LicenseRef-JP-ThirdParty"]["tokens"] == sum(r["n_tokens"] for r in kept if r["filing_id"])
    assert stats["by_year"]["2025"]["documents"] >= 1 and stats["train_only_documents"] >= 1


def test_jp_government_pipeline_end_to_end(shared, tmp_path, web, ray_local, capsys):
    egov, kokkai = ApiServer(shared).start(), ApiServer(shared).start()
    try:
        fetch = load("jp-government.fetch.toml")
        for job in fetch["egov_laws"]:
            job.update(base_url=egov.base + "/api/2", bulk_url=egov.base + "/bulkdownload", delay_seconds=0.05)
        for job in fetch["kokkai"]:
            job.update(base_url=kokkai.base + "/api", delay_seconds=0.05)
        fetch["retries"].update(FAST_RETRIES)
        assert main(["fetch", str(write(tmp_path / "fetch.toml", fetch)), "--output", str(tmp_path / "fetch")]) == 0
    finally:
        egov.stop()
        kokkai.stop()
    out, manifest, kept, rejected = crawl_and_run(tmp_path, "jp-government", [web.base + "/gov/note.html", web.base + "/law/b.html"], {
        "egov-laws": [egov.base + "/api/2/", web.base + "/law/"], "kokkai": [kokkai.base + "/api/"],
        "digital-agency-note-2021": [web.base + "/gov/"],
    })
    # laws: one document per law as the API gave it, Art. 13, located by its WARC record
    laws = [r for r in kept if r["url"] and "/api/2/law_data/" in r["url"]]
    titles = {r["title"] for r in laws}
    assert "会社法" in titles and "航空法" in titles
    kaisha = next(r for r in laws if r["title"] == "会社法")
    assert kaisha["locator"].startswith("warc:apis/jp-government-apis-00000.warc.gz#") and "/" not in kaisha["locator"].split("#")[1]
    assert kaisha["text"].startswith("会社法\n平成十七年法律第八十六号")
    assert (kaisha["license"], kaisha["redistribute_ok"]) == ("LicenseRef-JP-Copyright-Art13", True) and reopens(out, kaisha)
    # Diet meetings of 2023: one document per meeting, warc:<path>#<offset>/<issueID>, train-only
    # (each of the replay's 2023 meetings is kept or dropped with a named rule; none is lost)
    expected = {etree.fromstring(r).findtext("recordData/meetingRecord/issueID") for d, _, r in kokkai_meetings(shared) if d.startswith("2023")}
    meetings = [r for r in kept if r["license"] == "LicenseRef-JP-Kokkai-Art40"]
    dropped = {r["locator"].rsplit("/", 1)[1]: r for r in rejected if r["locator"].count("/") == 2 and r["locator"].startswith("warc:apis/")}
    assert len(expected) == 5 and {r["locator"].rsplit("/", 1)[1] for r in meetings} | set(dropped) == expected
    assert len(meetings) >= 4 and all(r["stage"] == "quality" and r["rule"] and r["value"] is not None for r in dropped.values())
    assert all(r["url"].startswith("https://kokkai.ndl.go.jp/txt/") and not r["redistribute_ok"] and r["train_ok"] for r in meetings)
    assert all(r["title"].startswith("第212回国会") or r["title"].startswith("第211回国会") for r in meetings)
    assert all(reopens(out, r) for r in meetings)
    # the law list pages are bookkeeping, named as such
    listings = [r for r in rejected if r["reason"] == "api_listing"]
    assert listings and all("/api/2/laws?" in r["url"] for r in listings)
    # the crawled pages under the registry entries they stand in for
    note = [r for r in kept if r["url"] == web.base + "/gov/note.html"]
    assert [r["license"] for r in note] == ["LicenseRef-JP-GSTU-2.0"] and reopens(out, note[0])

    stats = stats_json(out, capsys)
    assert stats["documents"] == manifest["totals"]["kept"]
    assert stats["by_license"]["LicenseRef-JP-Kokkai-Art40"]["documents"] == len(meetings)
    assert stats["by_source"]["jp-government-apis"]["documents"] == sum(1 for r in kept if r["source"] == "jp-government-apis")
    assert "有価証券報告書" not in stats["by_doc_type"]
