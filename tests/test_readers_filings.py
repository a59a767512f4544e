"""Securities filings: EDINET filing packages (the ZIP of 書類取得API type=1), chABSA JSON, e-Gov bulk
law archives, and the API bookkeeping ``corpus fetch`` stores beside them.

Real data: the FSA's XBRL tagging sample 有価証券報告書 (filer X99001) packed as EDINET packs a
filing (tests/api_server.py), the 230 chABSA filings, the e-Gov law XML of ../shared/data. The
package is read as a file and as the payload of a WARC response written by ``corpus fetch``
against the loopback replay; every locator reopens to the bytes behind its ``raw_sha256``.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from lxml import etree

from corpus.document import DOC_SCHEMA, docs_from_rows, sha256_hex
from corpus.filters.quality import QualityStage
from corpus.filters.rules import load_profile
from corpus.filters.signals import compute_signals
from corpus.io.bounded import ReadLimits
from corpus.sources.warc_write import HttpCapture, write_warc
from corpus.text.normalize_stage import NormalizeStage

from api_server import EDINET_SAMPLE, ApiServer, filing_zip
from readers_util import read, reopen
from test_fetch_apis import EDINET_JOB, run_fetch

IX = "http://www.xbrl.org/2008/inlineXBRL"
STEM = "jpcrp030000-asr-001_X99001-000_2025-03-31_01_2025-06-28"
NARRATIVE = {"BusinessRisksTextBlock", "ManagementAnalysisOfFinancialPositionOperatingResultsAndCashFlowsTextBlock",
             "OverviewOfCorporateGovernanceTextBlock", "DisclosureOfSustainabilityRelatedFinancialInformationTextBlock",
             "ResearchAndDevelopmentActivitiesTextBlock", "DividendPolicyTextBlock"}
STATEMENTS = ("ConsolidatedBalanceSheetTextBlock", "ConsolidatedStatementOfIncomeTextBlock", "ConsolidatedStatementOfCashFlowsTextBlock",
              "BalanceSheetTextBlock", "StatementOfIncomeTextBlock", "BusinessResultsOfGroupTextBlock")


def package(shared: Path, keep=lambda name: True, replace: dict[str, bytes] | None = None) -> bytes:
    """The FSA sample as a filing ZIP, with members left out or replaced."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted((shared / EDINET_SAMPLE).iterdir()):
            if keep(path.name):
                data = (replace or {}).get(path.name, path.read_bytes())
                zf.writestr(zipfile.ZipInfo(f"XBRL/PublicDoc/{path.name}", (2025, 6, 28, 9, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def _with_copy(shared: Path, name: str) -> bytes:
    """The sample package with the HTML file ``name`` in it a second time, under another name."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted((shared / EDINET_SAMPLE).iterdir()):
            zf.writestr(f"XBRL/PublicDoc/{path.name}", path.read_bytes())
        zf.writestr(f"XBRL/PublicDoc/{name.replace('0200000', '0200001')}", (shared / EDINET_SAMPLE / name).read_bytes())
    return buf.getvalue()


def raw_zip(name: str, deflated: bytes, declared: int, crc: int) -> bytes:
    """A one-member ZIP written by hand, so its header can say what it likes about the member's size."""
    n = name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x5AFC, crc, len(deflated), declared, len(n), 0) + n
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x5AFC, crc, len(deflated), declared, len(n), 0, 0, 0, 0, 0, 0) + n
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + len(deflated), 0)
    return local + deflated + central + end


def outermost_textblocks(shared: Path) -> list[str]:
    """The outermost ix:nonNumeric TextBlocks of the sample's HTML, found here independently of the reader."""
    names = []
    for path in sorted((shared / EDINET_SAMPLE).glob("*_ixbrl.htm")):
        for el in etree.parse(str(path)).iter(f"{{{IX}}}nonNumeric"):
            if el.get("name").endswith("TextBlock") and not any(
                    a.tag == f"{{{IX}}}nonNumeric" and a.get("name", "").endswith("TextBlock") for a in el.iterancestors()):
                names.append(el.get("name").split(":")[1])
    return names


@pytest.fixture(scope="module")
def filing(shared, tmp_path_factory):
    """(rows, rejected, roots) of the sample read as the file S100X991.zip."""
    d = tmp_path_factory.mktemp("edinet")
    (d / "S100X991.zip").write_bytes(filing_zip(shared))
    rows, rejected, _, roots = read(d, "edinet-filings", "LicenseRef-JP-ThirdParty")
    return rows, rejected, roots


def by_part(rows: list[dict]) -> dict[str, dict]:
    return {r["locator"].split("#", 1)[1].split("/", 1)[1]: r for r in rows}


def test_a_filing_package_becomes_one_document_per_section_and_per_table(filing, shared):
    rows, rejected, roots = filing
    assert rejected == []
    parts = by_part(rows)
    sections = [r["section"] for r in rows if "/table" not in r["locator"]]
    # every outermost TextBlock with text is a section; nested ones (ガバナンス in サステナビリティ) are not
    expected = outermost_textblocks(shared)
    assert {s.split("@")[0] for s in sections} <= set(expected) and NARRATIVE <= set(sections)
    assert "GovernanceTextBlock" not in sections and len(sections) == 125
    assert "NotesRegardingInventoriesTextBlock@CurrentYearInstant_NonConsolidatedMember" in sections  # a repeated concept, told apart by context
    risks = parts["BusinessRisksTextBlock"]
    assert risks["locator"] == "edinet:edinet0/S100X991.zip#S100X991/BusinessRisksTextBlock"
    assert risks["text"].startswith("３【事業等のリスク】\n有価証券報告書に記載した事業の状況")
    assert "投資者の判断に重要な影響を及ぼす可能性のある事項" in risks["text"]  # <br /> inside a word joined again
    assert "(3）継続企業の前提に関する重要事象等" in risks["text"].split("\n")  # the nested TextBlock stays in its parent
    assert risks["title"] == "Ａ株式会社 有価証券報告書 ３【事業等のリスク】"
    for row in rows:
        assert (row["filing_id"], row["filer_code"], row["security_code"], row["doc_type"], row["period"]) == (
            "S100X991", "X99001", "11110", "有価証券報告書", "2024-04-01/2025-03-31")
        assert row["source"] == "edinet-filings" and row["license"] == "LicenseRef-JP-ThirdParty"
    for row in rows:  # every locator reopens to the bytes it was read from (a section's XML, one table's)
        assert sha256_hex(reopen(row["locator"], roots).payload) == row["raw_sha256"]
    fields = json.loads(risks["source_fields"])
    assert fields["FilerNameInJapaneseDEI"] == "Ａ株式会社" and fields["DocumentTypeDEI"] == "第三号様式" and fields["file_stem"] == STEM
    # tables apart from the narrative, one row per line
    assert not any(" | " in r["text"] for r in rows if "/table" not in r["locator"])
    results = parts["BusinessResultsOfGroupTextBlock/table1"]["text"].split("\n")
    assert results[0] == "回次 | 第104期 | 第105期 | 第106期 | 第107期 | 第108期"
    assert "売上高 | (百万円) | 231,282 | 273,802 | 303,080 | 316,934 | 323,609" in results
    assert parts["BusinessResultsOfGroupTextBlock/table1"]["section"] == "BusinessResultsOfGroupTextBlock"
    # a one-column table (a date stamp) is read as narrative
    assert "令和７年３月31日現在" in parts["InformationAboutEmployeesTextBlock"]["text"].split("\n")


def test_instance_textblocks_stand_in_where_the_html_is_missing(filing, shared, tmp_path):
    rows, _, _ = filing
    whole = {r["locator"].split("#")[1]: r["text"] for r in rows}
    # no HTML at all: the XBRL instance alone gives the same documents with the same text
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "S100X991.zip").write_bytes(package(shared, keep=lambda n: not n.endswith(".htm")))
    only_instance, rejected, _, roots = read(tmp_path / "a")
    assert rejected == [] and {r["locator"].split("#")[1]: r["text"] for r in only_instance} == whole
    for r in only_instance[:20]:
        assert sha256_hex(reopen(r["locator"], roots).payload) == r["raw_sha256"]
    # one HTML file broken: its sections come from the instance, the failure is named, nothing else changes
    broken = "0101010_honbun_" + STEM + "_ixbrl.htm"
    cut = (shared / EDINET_SAMPLE / broken).read_bytes()[:200_000]
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "S100X991.zip").write_bytes(package(shared, replace={broken: cut}))
    mixed, rejected, _, _ = read(tmp_path / "b")
    assert [(r["reason"], r["locator"]) for r in rejected] == [("xml_parse_error", f"edinet:b/S100X991.zip#S100X991/{broken}")]
    assert {r["locator"].split("#")[1]: r["text"] for r in mixed} == whole
    # a package that breaks the rules, with one HTML file twice: every section still has its own locator
    twice = "0200000_honbun_" + STEM + "_ixbrl.htm"
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "S100X991.zip").write_bytes(_with_copy(shared, twice))
    doubled, rejected, _, roots = read(tmp_path / "c")
    locators = [r["locator"] for r in doubled]
    assert rejected == [] and len(locators) == len(set(locators)) == len(rows) + 1
    guarantee = "S100X991/InformationAboutCompanyWhichProvidesGuaranteeToReportingCompanyTextBlock"
    pair = [r for r in doubled if r["locator"].split("#")[1].startswith(guarantee)]
    assert [r["locator"].split("#")[1] for r in pair] == [guarantee + "@FilingDateInstant", guarantee + "@FilingDateInstant~2"]
    assert all(r["text"] == whole[guarantee] and sha256_hex(reopen(r["locator"], roots).payload) == r["raw_sha256"] for r in pair)


def test_filing_packages_are_bounded_and_broken_members_cost_only_themselves(shared, tmp_path):
    # members that together inflate past the limit: the package is too_large once, naming the member
    # where the budget ran out; reading stops there and the sections read before it are kept
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "S100X991.zip").write_bytes(package(shared))  # 181 KB deflated, 3.1 MB inflated
    rows, rejected, _, _ = read(tmp_path / "a", limits=ReadLimits(max_document_bytes=1_000_000))
    assert [(r["reason"], r["rule"], r["threshold"]) for r in rejected] == [("too_large", "max_document_bytes", 1_000_000.0)]
    assert rejected[0]["locator"].endswith("/0105070_honbun_" + STEM + "_ixbrl.htm") and "ZIP package" in rejected[0]["detail"]
    assert 1_000_000 < rejected[0]["value"] <= 1_000_000 + (1 << 16)
    sections = {r["section"] for r in rows}
    assert "BusinessRisksTextBlock" in sections and "BalanceSheetTextBlock" not in sections
    assert {r["filer_code"] for r in rows} == {"X99001"}  # the instance was not read: the HTML's DEI facts stand in
    # a bomb: a member that declares 1 KB and inflates to 200 MB; the header is not believed, the CRC fails
    zeros = 200 << 20
    body = zlib.compress(b"\0" * zeros, 9)[2:-4]  # raw deflate
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "S100X991.zip").write_bytes(raw_zip("XBRL/PublicDoc/0000000_header_bomb_ixbrl.htm", body, 1024, zlib.crc32(b"\0" * zeros)))
    rows, rejected, _, _ = read(tmp_path / "b", limits=ReadLimits(max_document_bytes=4 << 20))
    assert rows == [] and [r["reason"] for r in rejected] == ["zip_unreadable"] and "CRC" in rejected[0]["detail"]
    # the same bomb declaring its real size: inflated in steps and stopped at the limit
    (tmp_path / "b" / "S100X991.zip").write_bytes(raw_zip("XBRL/PublicDoc/0000000_header_bomb_ixbrl.htm", body, zeros, zlib.crc32(b"\0" * zeros)))
    rows, rejected, _, _ = read(tmp_path / "b", limits=ReadLimits(max_document_bytes=4 << 20))
    assert [(r["reason"], r["threshold"]) for r in rejected] == [("too_large", float(4 << 20))]
    assert (4 << 20) < rejected[0]["value"] <= (4 << 20) + (1 << 16)
    # not a ZIP at all; a ZIP of something else
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "S100X991.zip").write_bytes(b"PK\x03\x04" + b"junk" * 100)
    (tmp_path / "c" / "labels.zip").write_bytes(package(shared, keep=lambda n: n.endswith("lab.xml")))
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("docs/readme.txt", "not a filing")
    (tmp_path / "c" / "other.zip").write_bytes(other.getvalue())
    rows, rejected, _, _ = read(tmp_path / "c", format="edinet_zip")
    assert rows == [] and sorted(r["reason"] for r in rejected) == ["edinet_no_sections", "not_edinet_package", "zip_unreadable"]


def test_filing_zip_in_a_fetch_warc_is_read_by_its_record_and_api_bookkeeping_is_named(shared, filing, tmp_path):
    servers = {name: ApiServer(shared).start() for name in ("edinet", "egov", "kokkai")}
    try:
        run_fetch(servers, tmp_path / "fetch", edinet=[EDINET_JOB], egov=[{"law_types": ["Act"], "page_size": 4}, {"mode": "bulk", "category_cd": ["024"]}])
    finally:
        for srv in servers.values():
            srv.stop()
    rows, rejected, counts, roots = read(tmp_path / "fetch" / "warc", "official-apis", "NOASSERTION")
    file_rows = by_part(filing[0])
    filings = [r for r in rows if r["filing_id"]]
    assert {r["filing_id"] for r in filings} == {"S100X991", "S100X992"} and len(filings) == 2 * len(file_rows)
    for r in filings:
        record, _, part = r["locator"].split("#", 1)[1].partition("/")
        assert record.isdigit() and part.startswith(r["filing_id"] + "/")
        same = file_rows[part.split("/", 1)[1]]
        assert (r["text"], r["raw_sha256"], r["section"], r["period"]) == (same["text"], same["raw_sha256"], same["section"], same["period"])
        assert r["url"].endswith(f"/documents/{r['filing_id']}?type=1&Subscription-Key=REDACTED") and r["fetch_time"]
    for r in filings[::40]:
        assert sha256_hex(reopen(r["locator"], roots).payload) == r["raw_sha256"]
    # the bulk archive: one law per XML member, warc:<path>#<offset>/<member>
    laws = [r for r in rows if r["url"] and "/bulkdownload?" in r["url"]]
    assert len(laws) == 30 and all(r["locator"].endswith(".xml") and r["title"] for r in laws)
    assert sha256_hex(reopen(laws[0]["locator"], roots).payload) == laws[0]["raw_sha256"]
    # list pages and the 404 answer are named outcomes, not unsupported_content_type
    reasons = sorted((r["reason"], r["url"].split("?")[0].rsplit("/", 1)[1]) for r in rejected)
    assert reasons == [("api_error", "S100GONE")] + [("api_listing", "documents.json")] * 4 + [("api_listing", "laws")] * 2
    listing = next(r for r in rejected if "date=2025-06-28" in r["url"])
    assert "2 filing(s) listed" in listing["detail"]
    assert counts.docs_in == len(rows) + len(rejected)


def test_chabsa_is_one_document_per_filing_with_its_header(shared, tmp_path):
    rows, rejected, _, roots = read(shared / "finance/chabsa", "chabsa", "CC-BY-4.0")
    assert rejected == [] and len(rows) == 230
    hokuto = next(r for r in rows if r["locator"] == "chabsa:chabsa/e00008_ann.json")
    raw = json.loads((shared / "finance/chabsa/e00008_ann.json").read_text(encoding="utf-8"))
    assert hokuto["text"].split("\n") == [s["sentence"] for s in raw["sentences"]]
    assert (hokuto["title"], hokuto["filer_code"], hokuto["security_code"], hokuto["doc_type"]) == ("ホクト株式会社", "E00008", "13790", "有価証券報告書")
    assert json.loads(hokuto["source_fields"]) == {"category17": "食品", "category33": "水産・農林業", "document_id": "E00008", "scale": "6"}
    assert reopen(hokuto["locator"], roots).payload == (shared / "finance/chabsa/e00008_ann.json").read_bytes()
    for r in rows:  # every filing: its sentences in order, none lost (SOURCES.md: 6,119 sentences in 230 files)
        sentences = json.loads((shared / "finance/chabsa" / r["locator"].rsplit("/", 1)[1]).read_text(encoding="utf-8"))["sentences"]
        assert r["text"] == "\n".join(s["sentence"].strip() for s in sorted(sentences, key=lambda s: s["sentence_id"]) if s["sentence"].strip())
    # JSON that is not chABSA, and a broken file, are named rejections
    (tmp_path / "j").mkdir()
    (tmp_path / "j" / "law.json").write_bytes((shared / "law_xml/egov_api_v2_json").glob("*.json").__next__().read_bytes())
    (tmp_path / "j" / "cut.json").write_bytes((shared / "finance/chabsa/e00008_ann.json").read_bytes()[:500])
    _, rejected, _, _ = read(tmp_path / "j")
    assert sorted(r["reason"] for r in rejected) == ["json_parse_error", "not_chabsa_json"]


def test_egov_bulk_archive_file_reads_each_law(shared, tmp_path):
    laws = sorted((shared / "law_xml/revisions").glob("*/*.xml"))[:5]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in laws:
            zf.writestr(f"{p.stem}/{p.name}", p.read_bytes())
        zf.writestr(f"{laws[0].stem}/figure.jpg", b"\xff\xd8\xff")
    (tmp_path / "bulk.zip").write_bytes(buf.getvalue())
    rows, rejected, _, roots = read(tmp_path / "bulk.zip", "egov-laws", "LicenseRef-JP-Copyright-Art13")
    singles, _, _, _ = read(laws[0].parent)
    assert rejected == [] and len(rows) == 5
    assert rows[0]["locator"] == f"lawzip:bulk.zip#{laws[0].stem}/{laws[0].name}"
    assert rows[0]["text"] == next(r["text"] for r in singles if laws[0].name in r["locator"])
    for r in rows:
        assert sha256_hex(reopen(r["locator"], roots).payload) == r["raw_sha256"]
    # in a WARC the archive is recognised by its LawID-named members; an .xlsx sent as octet-stream
    # (a ZIP of XML too) is not taken for one and stays raw for the extract stage
    xlsx = (shared / "finance/cpa_audit/CPA_AUDIT.xlsx").read_bytes()
    caps = [HttpCapture("https://laws.e-gov.go.jp/bulkdownload?file_section=1", "2025-01-01T00:00:00Z", buf.getvalue(), "application/zip"),
            HttpCapture("https://www.example.jp/exam.xlsx", "2025-01-01T00:00:00Z", xlsx, "application/octet-stream")]
    rows, rejected, _, _ = read(write_warc(tmp_path / "w" / "bulk.warc.gz", caps))
    assert rejected == [] and len(rows) == 6 and sum(1 for r in rows if r["raw"] == xlsx and r["text"] is None) == 1


def test_finance_filings_profile_drops_numeric_tables_and_keeps_the_narrative(filing, shared):
    rows, _, _ = filing
    chabsa, _, _, _ = read(shared / "finance/chabsa", "chabsa", "CC-BY-4.0")
    table = NormalizeStage().process(docs_from_rows(rows + chabsa, DOC_SCHEMA)).kept
    out = QualityStage(load_profile("finance-filings")).process(table)
    by_id = {r["doc_id"]: r for r in rows + chabsa}
    dropped = {by_id[r["doc_id"]]["locator"].split("#")[1]: r for r in out.rejected.to_pylist()}
    kept = {by_id[d]["locator"] for d in out.kept.column("doc_id").to_pylist()}
    # every financial statement is dropped as a numeric table, its share of number cells recorded
    for name in STATEMENTS:
        for part, r in dropped.items():
            if f"/{name}/table" in part:
                assert (r["reason"], r["threshold"]) == ("max_numeric_cell_fraction", 0.5) and r["value"] > 0.5
    assert sum(1 for r in dropped.values() if r["reason"] == "max_numeric_cell_fraction") >= 40
    # the rule never fires on narrative; all 230 chABSA filings and the written-out FSA section are kept
    assert not any(r["reason"] == "max_numeric_cell_fraction" for p, r in dropped.items() if "/table" not in p)
    assert sum(1 for k in kept if k.startswith("chabsa:")) == 230
    assert "edinet:edinet0/S100X991.zip#S100X991/OverviewOfCapitalExpendituresEtcTextBlock" in kept
    # the officers' table is text, not numbers
    officers = next(r for r in rows if r["locator"].endswith("InformationAboutOfficersTextBlock/table1"))
    assert compute_signals(officers["text"], ["numeric_cell_fraction"])["numeric_cell_fraction"] < 0.2


def test_a_filing_member_inflating_to_a_gibibyte_costs_a_few_mib(shared, tmp_path):
    """A 1 MB filing package whose one member inflates to 1 GiB (declared truthfully, so the CRC
    would pass), read in a fresh process with a 4 MiB limit: one too_large, memory growth bounded."""
    from test_reader_limits import BUDGET, LIMIT, _peak_read

    deflate, crc = zlib.compressobj(9, zlib.DEFLATED, -15), 0
    chunk, parts = b"\0" * (1 << 20), []
    for _ in range(1024):
        parts.append(deflate.compress(chunk))
        crc = zlib.crc32(chunk, crc)
    body = b"".join(parts) + deflate.flush()
    (tmp_path / "S100BOMB.zip").write_bytes(raw_zip("XBRL/PublicDoc/0101010_honbun_bomb_ixbrl.htm", body, 1 << 30, crc))
    result = _peak_read(tmp_path / "S100BOMB.zip")
    assert result["kept"] == [] and [(r["reason"], r["threshold"]) for r in result["rejected"]] == [("too_large", float(LIMIT))]
    assert result["grew"] < BUDGET, f"reading grew resident memory by {result['grew'] / (1 << 20):.1f} MiB"
    print(f"ZIP member inflating to 1 GiB ({len(body)} bytes deflated): peak RSS growth {result['grew'] / (1 << 20):.1f} MiB")
