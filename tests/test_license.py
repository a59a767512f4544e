"""Licence registry, per-page detection, precedence and policy, on real pages in real footers (no Ray)."""

from __future__ import annotations

import json

import pytest

from corpus.filters.license import LicensePolicy, LicenseStage, load_licenses, load_sources, match_source
from corpus.filters.license_detect import detect, recheck
from corpus.pipeline.spec import SpecError, load_spec
from corpus.sources.read import expand_input, read_inputs

from conftest import write_spec
from dressed import FOOTER_CC_BY_NC, PAGES, dressed_html, write_dressed_warc

OPEN = ("LicenseRef-JP-GSTU-2.0", "LicenseRef-JP-PDL-1.0", "CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "LicenseRef-JP-Copyright-Art13")


def _run(shared, tmp_path, policy=None, declared="NOASSERTION", names=None, extra=None):
    warc = write_dressed_warc(shared, tmp_path / "dressed.warc.gz", names, extra)
    table, _, _ = read_inputs(expand_input(str(warc), "dressed", declared).ranges)
    out = LicenseStage(policy or LicensePolicy(OPEN)).process(table)
    kept = {r["url"]: r for r in out.kept.to_pylist()}
    rejected = {r["url"]: r for r in out.rejected.to_pylist()}
    assert len(kept) + len(rejected) == table.num_rows
    return kept, rejected


def _url(name):
    return PAGES[name][1]


def test_registry_has_the_required_licences_and_every_source_points_at_one():
    licenses = load_licenses()
    for lid in [*OPEN, "LicenseRef-AllRightsReserved", "NOASSERTION"]:
        assert lid in licenses
    assert licenses["LicenseRef-JP-BOJ-Terms"].commercial is False and licenses["LicenseRef-JP-BOJ-Terms"].modification is False
    assert licenses["LicenseRef-JP-ThirdParty"].redistribution is False
    sources = {s.id: s for s in load_sources(None, licenses)}
    for sid in ("egov-laws", "fsa", "sesc", "digital-agency", "edinet-site", "edinet-filings", "boj", "kokkai", "chabsa"):
        assert sources[sid].terms_url.startswith("http") and sources[sid].checked
    # longest prefix beats host: EDINET filings are the filers', the EDINET site is PDL1.0
    src = list(sources.values())
    assert match_source(src, "https://disclosure2.edinet-fsa.go.jp/api/v2/documents/S100X", None).id == "edinet-filings"
    assert match_source(src, "https://disclosure2.edinet-fsa.go.jp/WZEK0040.aspx", None).id == "edinet-site"
    assert match_source(src, "https://www.fsa.go.jp/sesc/news/c_2024/x.html", None).id == "sesc"
    assert match_source(src, "https://www3.boj.or.jp/naha/chuui.html", None).id == "boj"
    assert match_source(src, "https://notfsa.go.jp/x", None) is None
    assert match_source(src, None, "chabsa").license == "CC-BY-4.0"


def test_government_page_whose_footer_forbids_reuse_is_rejected_with_evidence(shared, tmp_path):
    kept, rejected = _run(shared, tmp_path, names=["fsa_all_rights_reserved"])
    rej = rejected[_url("fsa_all_rights_reserved")]
    assert not kept
    assert rej["stage"] == "license" and rej["reason"] == "license_conflict"
    evidence = json.loads(rej["detail"][rej["detail"].index("["):])
    rules = {e["rule"]: e for e in evidence}
    assert rules["source_registry:fsa"]["license"] == "LicenseRef-JP-PDL-1.0"
    assert rules["no_reproduction"]["location"] == "footer" and "無断転載を禁じます" in rules["no_reproduction"]["snippet"]
    assert "All Rights Reserved" in rules["all_rights_reserved"]["snippet"]


def test_flag_policy_keeps_the_conflicting_page_but_never_for_redistribution(shared, tmp_path):
    policy = LicensePolicy(OPEN, on_conflict="flag")
    kept, _ = _run(shared, tmp_path, policy, names=["fsa_all_rights_reserved"])
    row = kept[_url("fsa_all_rights_reserved")]
    assert row["license"] == "LicenseRef-JP-PDL-1.0" and row["license_conflict"] is True
    assert row["train_ok"] is True and row["redistribute_ok"] is False and row["commercial_ok"] is False
    release = LicensePolicy(OPEN, on_conflict="flag", require_redistribution=True)
    _, rejected = _run(shared, tmp_path, release, names=["fsa_all_rights_reserved"])
    assert rejected[_url("fsa_all_rights_reserved")]["reason"] == "license_not_redistributable"


def test_pages_under_gstu_and_cc_by_are_kept_with_attribution(shared, tmp_path):
    kept, rejected = _run(shared, tmp_path, names=["mof_gstu", "lab_cc_by"])
    assert not rejected
    gstu, ccby = kept[_url("mof_gstu")], kept[_url("lab_cc_by")]
    assert gstu["license"] == "LicenseRef-JP-GSTU-2.0" and gstu["legal_basis"] == "license"
    assert gstu["train_ok"] and gstu["redistribute_ok"] and gstu["commercial_ok"]
    assert gstu["attribution"].startswith("出典：") and _url("mof_gstu") in gstu["attribution"] and "加工" in gstu["attribution"]
    ev = json.loads(gstu["license_evidence"])
    decisive = [e for e in ev if e["decisive"]]
    assert decisive and decisive[0]["rule"] == "gstu_declared" and decisive[0]["location"] == "footer"
    assert any(e["rule"] == "attribution_required" for e in ev)
    assert ccby["license"] == "CC-BY-4.0" and "creativecommons.org/licenses/by/4.0" in ccby["attribution"]
    assert [e["rule"] for e in json.loads(ccby["license_evidence"]) if e["decisive"]][0] == "link_rel_license"


def test_an_article_that_only_discusses_the_terms_is_not_licensed_by_them(shared, tmp_path):
    html = dressed_html(shared, PAGES["mof_mentions_gstu_only"][0], None).decode("utf-8")
    assert "政府標準利用規約" in html  # the article talks about the terms...
    assert not [s for s in detect(html) if s.kind == "grant"]  # ...but does not declare them
    _, rejected = _run(shared, tmp_path, names=["mof_mentions_gstu_only"])
    assert rejected[_url("mof_mentions_gstu_only")]["reason"] == "unknown_license"
    kept, _ = _run(shared, tmp_path, LicensePolicy(OPEN, allow_unknown_for_training=True), names=["mof_mentions_gstu_only"])
    row = kept[_url("mof_mentions_gstu_only")]
    assert row["license"] == "NOASSERTION" and row["train_ok"] is True and row["redistribute_ok"] is False


def test_boj_pages_are_train_only_and_not_commercial(shared, tmp_path):
    _, rejected = _run(shared, tmp_path, names=["boj_page"])
    assert rejected[_url("boj_page")]["reason"] == "license_not_allowed"
    kept, _ = _run(shared, tmp_path, LicensePolicy((*OPEN, "LicenseRef-JP-BOJ-Terms")), names=["boj_page"])
    row = kept[_url("boj_page")]
    assert row["license"] == "LicenseRef-JP-BOJ-Terms" and row["legal_basis"] == "art30_4_train_only"
    assert (row["train_ok"], row["redistribute_ok"], row["commercial_ok"]) == (True, False, False)
    _, rejected = _run(shared, tmp_path, LicensePolicy((*OPEN, "LicenseRef-JP-BOJ-Terms"), require_commercial=True), names=["boj_page"])
    assert rejected[_url("boj_page")]["reason"] == "license_not_commercial"


def test_bulk_licence_beats_registry_but_page_restrictions_still_win(shared, tmp_path):
    extra = {"fsa_cc_by_nc": (PAGES["mof_gstu"][0], "https://www.fsa.go.jp/news/x.html", FOOTER_CC_BY_NC)}
    kept, rejected = _run(shared, tmp_path, declared="CC-BY-4.0", names=["mof_gstu", "fsa_cc_by_nc", "fsa_all_rights_reserved"], extra=extra)
    # declared bulk terms win over the page's own GSTU footer
    assert kept[_url("mof_gstu")]["license"] == "CC-BY-4.0"
    assert json.loads(kept[_url("mof_gstu")]["license_evidence"])[0]["method"] == "bulk_terms"
    # a CC BY-NC badge and an All-rights-reserved footer both restrict what the bulk licence allows
    assert rejected["https://www.fsa.go.jp/news/x.html"]["reason"] == "license_conflict"
    assert "CC-BY-NC-4.0" in rejected["https://www.fsa.go.jp/news/x.html"]["detail"]
    assert rejected[_url("fsa_all_rights_reserved")]["reason"] == "license_conflict"


def test_license_policy_is_validated_before_any_work(tmp_path, shared):
    page = shared / "law_html/lawegov_2013_sjis/html/bf2a36e69d30a929.html"
    bad = write_spec(tmp_path / "a.toml", [(page, "s", "NOASSERTION")], '[license_policy]\nallowed = ["CC-BY-4.0", "MIT-ish"]\n')
    with pytest.raises(SpecError, match=r"license_policy.allowed: unknown licence id 'MIT-ish'"):
        load_spec(bad)
    # An input's own licence id is checked the same way, and every bad field is named at once.
    bad = write_spec(tmp_path / "d.toml", [(page, "s", "LicenseRef-JP-Copyright-Art40")], '[input_defaults]\nlicense = "CC-BY"\n')
    with pytest.raises(SpecError) as err:
        load_spec(bad)
    assert "inputs[0].license: unknown licence id 'LicenseRef-JP-Copyright-Art40'" in str(err.value)
    assert "input_defaults.license: unknown licence id 'CC-BY'" in str(err.value)
    bad = write_spec(tmp_path / "b.toml", [(page, "s", "NOASSERTION")], '[license_policy]\non_conflict = "ignore"\n')
    with pytest.raises(SpecError, match="license_policy.on_conflict"):
        load_spec(bad)
    good = write_spec(tmp_path / "c.toml", [(page, "s", "NOASSERTION")], '[license_policy]\nrequire_redistribution = true\n')
    assert load_spec(good).spec.license_policy.require_redistribution is True


def test_a_page_under_its_own_non_commercial_licence_is_not_a_conflict(shared, tmp_path):
    extra = {"lab_cc_by_nc": (PAGES["lab_cc_by"][0], "https://www.example-lab.jp/nc.html", FOOTER_CC_BY_NC)}
    _, rejected = _run(shared, tmp_path, names=["lab_cc_by_nc"], extra=extra)
    assert rejected["https://www.example-lab.jp/nc.html"]["reason"] == "license_not_allowed"
    kept, _ = _run(shared, tmp_path, LicensePolicy((*OPEN, "CC-BY-NC-4.0")), names=["lab_cc_by_nc"], extra=extra)
    row = kept["https://www.example-lab.jp/nc.html"]
    assert row["license"] == "CC-BY-NC-4.0" and row["license_conflict"] is False
    assert (row["commercial_ok"], row["redistribute_ok"]) == (False, True)


def test_stored_evidence_can_be_rechecked_without_the_page(shared, tmp_path):
    kept, _ = _run(shared, tmp_path, names=["mof_gstu", "lab_cc_by"])
    for row in kept.values():
        decisive = [e for e in json.loads(row["license_evidence"]) if e["decisive"]]
        assert decisive and all(recheck(e) for e in decisive)
        forged = {**decisive[0], "license": "CC0-1.0"}
        assert not recheck(forged)
        assert not recheck({**decisive[0], "snippet": "このページについて"})


# --- how a declaration is written: the normalisation the rules match on -------------------------

def _granted(text: str) -> list[tuple[str, str | None]]:
    page = f"<html><body><main>本文</main><footer>{text}</footer></body></html>"
    return [(s.rule, s.license) for s in detect(page) if s.kind == "grant"]


@pytest.mark.parametrize("text", [
    "本ウェブサイトのコンテンツは「政府標準利用規約（第2.0版）」に準拠しています。",  # the example
    "本ウェブサイトのコンテンツは『政府標準利用規約(第 2.0 版)』に準拠しています。",
    "当サイトのコンテンツは政府標準利用規約（2.0版）に準拠しております。",
    "当サイトのコンテンツは政府標準利用規約（ver.2.0）に準拠しています。",
    '当サイトのコンテンツは<a href="/terms">政府標準利用規約（第２．０版）</a>に準拠しています。',
    "本利用ルールは、政府標準利用規約(第2.0版)に準拠し、平成28年4月1日に定めたものです。",
])
def test_gstu_declarations_written_in_the_ways_sites_write_them_grant(text):
    assert ("gstu_declared", "LicenseRef-JP-GSTU-2.0") in _granted(text)


@pytest.mark.parametrize("text", [
    "気象庁ホームページのコンテンツは「政府標準利用規約（第2.0版）」に準拠して利用しています。",  # uses, does not grant
    "e-Statの利用ルールは政府標準利用規約（第2.0版）に準拠し、CC BY 4.0と互換です。",  # another site's terms
    "総務省サイトのコンテンツは「政府標準利用規約（第2.0版）」に準拠。",
    "各府省のウェブサイトでは政府標準利用規約が採用されています。",
    "出典：内閣官房「オープンデータ基本指針」、クリエイティブ・コモンズ 表示 4.0 国際 ライセンスの下に提供されています",
    "クリエイティブ・コモンズ 表示 4.1 日本 ライセンスの下に提供されています。",  # no such licence
])
def test_mentions_usage_notes_credits_and_impossible_versions_grant_nothing(text):
    assert _granted(text) == []


def test_versions_and_ports_name_the_right_licence():
    assert ("gstu_declared", "LicenseRef-JP-GSTU-1.0") in _granted("当サイトのコンテンツは政府標準利用規約（第1.0版）に準拠しています。")
    assert ("cc_text", "CC-BY-2.1-JP") in _granted("データはクリエイティブ・コモンズ 表示 2.1 日本 ライセンスの下に提供されています。")
    assert ("cc_text", "CC-BY-SA-3.0") in _granted("この作品は クリエイティブ・コモンズ 表示 - 継承 3.0 非移植 ライセンスの下に提供されています。")
    assert ("cc_text", "CC-BY-NC-ND-4.0") in _granted("本書は CC BY-NC-ND 4.0 で公開しています。")
    badge = '<a rel="license" href="https://creativecommons.org/licenses/by/2.1/jp/">CC</a>'
    assert ("link_rel_license", "CC-BY-2.1-JP") in _granted(badge)


def test_recheck_is_consistent_with_detection_after_normalisation():
    page = "<html><body><footer>本ウェブサイトのコンテンツは「政府標準利用規約（第2.0版）」に準拠しています。</footer></body></html>"
    (sig,) = [s for s in detect(page) if s.rule == "gstu_declared"]
    assert "「" not in sig.snippet and "政府標準利用規約(第2.0版)に準拠" in sig.snippet
    assert recheck(sig.to_dict())
    # the raw, unnormalised wording rechecks too (a snippet edited back to full-width still holds)
    assert recheck({**sig.to_dict(), "snippet": "本ウェブサイトのコンテンツは「政府標準利用規約（第2.0版）」に準拠しています。"})
    assert not recheck({**sig.to_dict(), "snippet": "本ウェブサイトのコンテンツは政府標準利用規約（第2.0版）に準拠して利用しています。"})


def test_a_credit_line_in_its_own_block_does_not_hide_the_licence_line_after_it():
    page = ("<html><body><main>本文</main><footer><p>出典：国土地理院ウェブサイト</p>"
            "<p>当サイトのコンテンツは公共データ利用規約（第1.0版）が適用されています。</p></footer></body></html>")
    assert [(s.rule, s.license) for s in detect(page) if s.kind == "grant"] == [("pdl_declared", "LicenseRef-JP-PDL-1.0")]
    same_line = page.replace("</p><p>", "、")
    assert not [s for s in detect(same_line) if s.kind == "grant"]
