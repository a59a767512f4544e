"""The source registry (filters/sources.toml): every entry complete and pointing at a registered
licence, the domain's publishers covered, sections told apart, unclear terms rejected by default,
and the page_grants precedence for sites whose terms could not be read."""

from __future__ import annotations

import json
import re
import tomllib

import pytest

from corpus.filters.license import (
    UNKNOWN, LicensePolicy, LicenseStage, default_sources_path, flags_for, load_licenses, load_sources,
    match_source, policy_rejection, resolve,
)
from corpus.filters.license_detect import detect
from corpus.pipeline.spec import LicensePolicySpec

REQUIRED = ("id", "publisher", "license", "terms_url", "checked", "read_from", "note")
DEFAULT = LicensePolicy(tuple(LicensePolicySpec().allowed))
#: the issue's list of publishers -> a URL of theirs and the entry that must answer for it
PUBLISHERS = {
    "https://www.mof.go.jp/policy/budget/index.html": "mof",
    "https://lfb.mof.go.jp/kantou/index.html": "mof",
    "https://www.meti.go.jp/press/2024/01/x.html": "meti",
    "https://www5.cao.go.jp/keizai3/getsurei/getsurei-index.html": "cao",
    "https://www.soumu.go.jp/menu_news/s-news/x.html": "soumu",
    "https://www.stat.go.jp/data/cpi/index.html": "stat",
    "https://www.e-stat.go.jp/stat-search/files?x": "estat",
    "https://www.nta.go.jp/law/tsutatsu/kihon/shotoku/01.htm": "nta",
    "https://www.caa.go.jp/notice/x.html": "caa",
    "https://www.fsa.go.jp/sesc/news/c_2024/x.html": "sesc",
    "https://www.dic.go.jp/kikotoha/x.html": "dic",
    "https://www.gpif.go.jp/operation/x.html": "gpif",
    "https://www.jpx.co.jp/markets/x.html": "jpx",
    "https://www.zenginkyo.or.jp/abstract/x.html": "zenginkyo",
    "https://www.city.yokohama.lg.jp/x.html": "local-governments",
    "https://www.courts.go.jp/app/hanrei_jp/detail2?id=1": "courts-judgments",
    "https://www.courts.go.jp/saiban/index.html": "courts",
    "https://kanpou.npb.go.jp/20240401/x.html": "kanpo",
    "https://disclosure2.edinet-fsa.go.jp/api/v2/documents/S100X": "edinet-filings",
    "https://laws.e-gov.go.jp/law/405AC0000000088": "egov-laws",
    "https://kokkai.ndl.go.jp/simple/detail?minId=1": "kokkai",
    "https://www.boj.or.jp/research/brp/index.htm": "boj",
    "https://www.fsa.go.jp/news/r6/x.html": "fsa",
    "https://www.digital.go.jp/news/x": "digital-agency",
}


@pytest.fixture(scope="module")
def licenses():
    return load_licenses()


@pytest.fixture(scope="module")
def sources(licenses):
    return load_sources(None, licenses)


def test_every_entry_has_its_fields_and_a_registered_licence(licenses):
    rows = tomllib.loads(default_sources_path().read_text(encoding="utf-8"))["source"]
    assert len(rows) >= 30
    assert len({r["id"] for r in rows}) == len(rows)
    for row in rows:
        for field in REQUIRED:
            assert isinstance(row.get(field), str) and row[field].strip(), (row.get("id"), field)
        assert row["license"] in licenses, row["id"]
        assert row["terms_url"].startswith("http"), row["id"]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["checked"]), row["id"]
        assert isinstance(row.get("review"), bool), row["id"]
        assert row.get("hosts") or row.get("prefixes") or row.get("datasets"), row["id"]
        if row.get("page_grants") or row["read_from"].startswith("not found"):
            # terms that could not be read: say so, and reject by default
            assert row["review"] and row["license"] == UNKNOWN, row["id"]


def test_a_registry_naming_an_unknown_licence_fails_to_load(tmp_path, licenses):
    bad = tmp_path / "sources.toml"
    bad.write_text('[[source]]\nid = "x"\npublisher = "x"\nlicense = "CC-BY-9.9"\nterms_url = "https://x"\nchecked = "2026-12-02"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="CC-BY-9.9"):
        load_sources(bad, licenses)


@pytest.mark.parametrize("url,sid", PUBLISHERS.items())
def test_each_publisher_the_corpus_needs_is_registered(sources, url, sid):
    assert match_source(sources, url, None).id == sid


def test_sections_of_one_site_get_their_own_terms(sources):
    assert match_source(sources, "https://www.e-stat.go.jp/bigdataportal/x", None).license == "LicenseRef-JP-PDL-1.0"
    assert match_source(sources, "https://www.e-stat.go.jp/dbview?x", None).license == "LicenseRef-JP-GSTU-2.0"
    assert match_source(sources, "https://www.courts.go.jp/app/files/hanrei_jp/1/x.pdf", None).license == "LicenseRef-JP-Copyright-Art13"
    assert match_source(sources, "https://www.courts.go.jp/about/x.html", None).license == "LicenseRef-AllRightsReserved"
    assert match_source(sources, "https://www.pref.kochi.lg.jp/opendata/x.csv", None).license == "CC-BY-4.0"
    assert match_source(sources, "https://www.pref.kochi.lg.jp/soshiki/x.html", None).id == "local-governments"
    assert match_source(sources, "https://www.city.kobe.lg.jp/a/x.html", None).id == "kobe"
    assert match_source(sources, "https://www.houjin-bangou.nta.go.jp/x", None).id == "nta-houjin-bangou"


def test_the_default_policy_rejects_no_reuse_unclear_and_third_party_terms(sources, licenses):
    by_id = {s.id: s for s in sources}
    for sid, reason in [("jpx", "unknown_license"), ("mof", "unknown_license"), ("nikkei", "license_not_allowed"),
                        ("courts", "license_not_allowed"), ("kanpo", "license_not_allowed"), ("edinet-filings", "license_not_allowed")]:
        lic = by_id[sid].license
        assert policy_rejection(lic, licenses[lic], flags_for(licenses[lic], False, DEFAULT), DEFAULT) == reason, sid
    for sid in ("fsa", "caa", "jbaudit", "resas", "egov-laws", "courts-judgments"):
        lic = by_id[sid].license
        assert policy_rejection(lic, licenses[lic], flags_for(licenses[lic], False, DEFAULT), DEFAULT) is None, sid
    # securities filings are third-party works: train-only, never redistributable by default
    filings = licenses[by_id["edinet-filings"].license]
    assert filings.train and not filings.redistribution and filings.legal_basis == "art30_4_train_only"


FOOTER_GSTU = "<footer>当ウェブサイトのコンテンツは「政府標準利用規約（第2.0版）」に準拠しています。</footer>"
FOOTER_CC = '<footer><a rel="license" href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a></footer>'


def _page(footer: str) -> str:
    return f"<html><body><main>本文です。</main>{footer}</body></html>"


def test_on_a_site_with_unread_terms_the_page_grant_decides(sources, licenses):
    d = resolve({"url": "https://www.mof.go.jp/x.html"}, licenses, sources, detect(_page(FOOTER_GSTU)))
    assert d.license == "LicenseRef-JP-GSTU-2.0" and d.source.id == "mof"
    decisive = [e for e in d.evidence if e["decisive"]]
    assert [e["rule"] for e in decisive] == ["gstu_declared"]
    assert any(e["rule"] == "source_registry:mof" and not e["decisive"] for e in d.evidence)
    # no grant on the page: the registry's NOASSERTION stands, decisively
    d = resolve({"url": "https://www.mof.go.jp/x.html"}, licenses, sources, detect(_page("<footer>お問い合わせ</footer>")))
    assert d.license == UNKNOWN and [e["rule"] for e in d.evidence if e["decisive"]] == ["source_registry:mof"]


def test_on_a_verified_site_the_registry_still_beats_the_page(sources, licenses):
    d = resolve({"url": "https://www.fsa.go.jp/news/x.html"}, licenses, sources, detect(_page(FOOTER_CC)))
    assert d.license == "LicenseRef-JP-PDL-1.0"
    assert [e["rule"] for e in d.evidence if e["decisive"]] == ["source_registry:fsa"]
    # and JPX (unclear terms, page_grants off) is not licensed by a badge either
    d = resolve({"url": "https://www.jpx.co.jp/x.html"}, licenses, sources, detect(_page(FOOTER_CC)))
    assert d.license == UNKNOWN


def test_the_licence_stage_keeps_a_ministry_page_by_its_own_declaration():
    import pyarrow as pa

    rows = [{"doc_id": "a", "locator": "warc:a.warc.gz#0", "url": "https://www.mof.go.jp/x.html", "source": "crawl", "license": "NOASSERTION",
             "raw": _page(FOOTER_GSTU).encode("utf-8"), "http_charset": "utf-8"},
            {"doc_id": "b", "locator": "warc:a.warc.gz#1", "url": "https://www.mof.go.jp/y.html", "source": "crawl", "license": "NOASSERTION",
             "raw": _page("<footer>財務省</footer>").encode("utf-8"), "http_charset": "utf-8"}]
    out = LicenseStage(DEFAULT).process(pa.Table.from_pylist(rows))
    kept, rejected = out.kept.to_pylist(), out.rejected.to_pylist()
    assert [r["doc_id"] for r in kept] == ["a"] and kept[0]["license"] == "LicenseRef-JP-GSTU-2.0"
    assert kept[0]["attribution"].startswith("出典：財務省ウェブサイト")
    assert json.loads(kept[0]["license_evidence"])[0]["rule"] == "source_registry:mof"
    assert [(r["doc_id"], r["reason"]) for r in rejected] == [("b", "unknown_license")]
