"""Charset decoding on real Japanese pages: Shift_JIS (CP932), EUC-JP, ISO-2022-JP, UTF-8."""

from __future__ import annotations

import pytest

from corpus.extract.charset import DecodeError, decode_bytes
from corpus.extract.html import extract_html

KOJIKI = "wiki/aozora_kojiki_encodings/03gendaigoyaku_kojiki.txt"


def _page(body: str, meta: str | None) -> str:
    head = f'<meta charset="{meta}">' if meta else ""
    paragraphs = "".join(f"<p>{line}</p>" for line in body.splitlines() if line.strip())
    return f"<html><head>{head}<title>古事記</title></head><body><article>{paragraphs}</article></body></html>"


def test_shift_jis_law_page_matches_the_sites_own_text(shared):
    """The 2013 e-Gov page (Shift_JIS) decodes to the same law text as the site's UTF-8 rendering."""
    html_bytes = (shared / "law_html/lawegov_2013_sjis/html/d3706fc85c406a45.html").read_bytes()
    reference = (shared / "law_html/lawegov_2013_sjis/text/d3706fc85c406a45.txt").read_text(encoding="utf-8")
    decoded = decode_bytes(html_bytes)
    assert decoded.charset == "cp932"
    assert decoded.evidence == "meta:shift_jis"
    assert "株式会社国際協力銀行法施行規則" in decoded.text
    text = extract_html(decoded.text).text
    assert "この省令において使用する用語は" in text and "この省令において使用する用語は" in reference
    assert "\ufffd" not in decoded.text


def test_http_header_charset_is_used_before_meta(shared):
    data = (shared / "near_dup/law_versions_sjis/ginkoho_S56HO059/2015-05-15.html").read_bytes()
    decoded = decode_bytes(data, http_charset="shift_jis")
    assert decoded.evidence == "http:shift_jis"
    assert "銀行法" in decoded.text


@pytest.mark.parametrize("suffix,codec", [("eucjp", "euc_jp"), ("sjis", "cp932"), ("jis", "iso2022_jp_ext")])
def test_real_text_in_each_encoding_is_detected_without_labels(shared, suffix, codec):
    truth = (shared / f"{KOJIKI}.utf8").read_text(encoding="utf-8")
    data = (shared / f"{KOJIKI}.{suffix}").read_bytes()
    decoded = decode_bytes(data)
    assert decoded.evidence == "detected"
    assert decoded.charset == codec
    assert decoded.text.replace("\r\n", "\n").strip()[:2000] == truth.replace("\r\n", "\n").strip()[:2000]


def test_euc_jp_page_with_meta_charset_extracts_correct_japanese(shared):
    truth = (shared / f"{KOJIKI}.utf8").read_text(encoding="utf-8")
    body = "\n".join(truth.splitlines()[40:80])
    page = _page(body, "EUC-JP").encode("euc_jp", errors="strict")
    decoded = decode_bytes(page)
    assert decoded.evidence == "meta:euc-jp"
    extracted = extract_html(decoded.text).text
    first_line = next(line for line in truth.splitlines()[40:80] if len(line.strip()) > 20).strip()
    assert first_line[:20] in extracted


def test_shift_jis_label_with_cp932_extensions_is_not_lost():
    """①, ㈱ and ～ exist only in CP932; strict Shift_JIS would fail the whole page."""
    page = _page("第①号　㈱日本銀行券の取扱い～について定める。", "Shift_JIS").encode("cp932")
    decoded = decode_bytes(page)
    assert decoded.charset == "cp932"
    assert "①" in decoded.text and "㈱" in decoded.text


def test_wrong_http_label_falls_back_and_says_so():
    page = _page("金融庁は、銀行の監督を行う。", "utf-8").encode("utf-8")
    decoded = decode_bytes(page, http_charset="iso-8859-1x")
    assert decoded.charset == "utf-8"
    assert decoded.evidence.startswith("http:iso-8859-1x(unknown)")


def test_binary_bytes_are_refused(shared):
    png = (shared / "warc/warcio_fixtures/example-space-in-target-uri.warc.gz").read_bytes()
    with pytest.raises(DecodeError, match="binary"):
        decode_bytes(png)
