"""Readers for plain text, JSONL, Parquet, e-Gov law XML and PDF, on real Japanese data."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from lxml import etree
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from corpus.document import docs_from_rows, sha256_hex
from corpus.extract.stage import ExtractStage
from corpus.pipeline.spec import SpecError, load_spec
from corpus.sources.read import expand_input, read_inputs

from conftest import write_spec
from pdf_fixtures import image_pdf, law_sentences, text_pdf
from readers_util import read, reopen

KOJIKI = "wiki/aozora_kojiki_encodings/03gendaigoyaku_kojiki.txt"
KAISHA = "law_xml/full/417AC0000000086_20170401_428AC0000000062.xml"


def _read(path: Path, **kw):
    rows, rejected, counts, _ = read(path, **kw)
    return rows, rejected, counts


def test_plain_text_records_charset_evidence(shared, tmp_path):
    (tmp_path / "kojiki_sjis.txt").write_bytes((shared / f"{KOJIKI}.sjis").read_bytes())
    (tmp_path / "kojiki_eucjp.txt").write_bytes((shared / f"{KOJIKI}.eucjp").read_bytes())
    (tmp_path / "kojiki_utf16.txt").write_bytes((shared / f"{KOJIKI}.utf16").read_bytes())
    rows, rejected, _ = _read(tmp_path)
    assert not rejected and [r["content_type"] for r in rows] == ["text/plain"] * 3
    out = ExtractStage().process(docs_from_rows(rows)).kept.to_pylist()
    truth = (shared / f"{KOJIKI}.utf8").read_text(encoding="utf-8").replace("\r\n", "\n").strip()[:2000]
    assert [(r["charset"], r["charset_evidence"]) for r in out] == [("euc_jp", "detected"), ("cp932", "detected"), ("utf-16", "bom:utf-16")]
    assert all(r["text"].replace("\r\n", "\n").strip()[:2000] == truth for r in out)


def test_jsonl_with_text_column_and_bad_lines(shared, tmp_path):
    sentences = json.loads(next((shared / "finance/chabsa").glob("e*_ann.json")).read_text(encoding="utf-8"))["sentences"]
    lines = [json.dumps({"body": s["sentence"], "url": f"https://example.invalid/{i}"}, ensure_ascii=False) for i, s in enumerate(sentences[:5])]
    lines.insert(2, "{not json")
    lines.insert(4, json.dumps({"other": "x"}))
    path = tmp_path / "chabsa.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows, rejected, counts, roots = read(path, text_column="body")
    assert [r["text"] for r in rows] == [s["sentence"] for s in sentences[:5]]
    assert [r["locator"] for r in rows] == [f"jsonl:chabsa.jsonl#{n}" for n in (1, 2, 4, 6, 7)]
    assert sorted(r["reason"] for r in rejected) == ["jsonl_bad_line", "missing_text_column"]
    assert (counts.docs_in, counts.docs_out) == (7, 5)
    for r in rows:
        assert sha256_hex(reopen(r["locator"], roots).payload) == r["raw_sha256"]
    kept = ExtractStage().process(docs_from_rows(rows)).kept
    assert kept.column("text").to_pylist() == [s["sentence"] for s in sentences[:5]]
    assert "raw" not in kept.column_names


def test_parquet_with_text_column_missing_column_is_one_rejection(shared, tmp_path):
    texts = [(shared / f"law_html/lawegov_2013_sjis/text/{n}.txt").read_text(encoding="utf-8") for n in ("bf2a36e69d30a929", "d3706fc85c406a45")]
    pq.write_table(pa.table({"body": texts + [None], "url": ["u1", "u2", "u3"]}), tmp_path / "a.parquet", row_group_size=2)
    rows, rejected, _, roots = read(tmp_path / "a.parquet", text_column="body")
    assert [r["text"] for r in rows] == texts and [r["url"] for r in rows] == ["u1", "u2"]
    assert [r["reason"] for r in rejected] == ["missing_text_column"] and rejected[0]["locator"].endswith("#2")
    for r in rows:
        assert sha256_hex(reopen(r["locator"], roots, "body").payload) == r["raw_sha256"]
    rows, rejected, _ = _read(tmp_path / "a.parquet")  # default column "text" does not exist
    assert rows == [] and [r["reason"] for r in rejected] == ["missing_text_column"]


def test_law_xml_keeps_title_number_and_article_structure(shared):
    rows, rejected, _ = _read(shared / KAISHA)
    assert not rejected
    (doc,) = rows
    assert doc["locator"] == f"law:{Path(KAISHA).name}#417AC0000000086@20170401_428AC0000000062"
    assert doc["title"] == "会社法"
    lines = doc["text"].split("\n")
    assert lines[:2] == ["会社法", "平成十七年法律第八十六号"]
    tree = etree.parse(str(shared / KAISHA))
    main = tree.find(".//MainProvision")
    titles = ["".join(a.find("ArticleTitle").itertext()) for a in main.iter("Article")]
    assert len(titles) > 900
    # every article of the main provision starts a line, in order
    starts = [ln.split("\u3000")[0] for ln in lines]
    pos = 0
    for t in titles:
        pos = starts.index(t, pos) + 1
    # article 1 with its sentence; article 2 item 1 on its own line; a second paragraph numbered ２
    first = main.find(".//Article")
    assert f"第一条\u3000{''.join(first.find('.//Sentence').itertext())}" in lines
    assert any(ln.startswith("一\u3000会社\u3000株式会社") for ln in lines)
    assert any(ln.startswith("２\u3000") for ln in lines)
    for heading in ("第一編\u3000総則", "第一章\u3000通則", "第一節\u3000会社の使用人"):
        assert heading in lines
    assert "目次" not in lines  # the table of contents is not repeated


def test_law_xml_api_envelopes(shared):
    rows, rejected, _ = _read(shared / "law_xml/api_envelopes")
    reasons = {Path(r["input_path"]).name: (r["reason"], r["detail"]) for r in rejected}
    assert reasons["v1_lawdata_error_no_result.xml"][0] == "law_api_error"
    assert "取得結果が０件" in reasons["v1_lawdata_error_no_result.xml"][1]
    assert reasons["v1_updatelawlists_response.xml"][0] == "not_law_xml"
    (v2,) = rows
    assert v2["locator"].endswith("#322CO0000000016@20240401_506CO0000000161")
    assert v2["text"].split("\n")[:3] == ["地方自治法施行令", "昭和二十二年政令第十六号", "第一条\u3000地方自治法の施行について必要な事項を定める&確認する。"]


def test_pdf_text_layer_is_read_and_image_only_pdf_is_rejected(shared, tmp_path):
    sentences = law_sentences(shared)
    (tmp_path / "text.pdf").write_bytes(text_pdf(sentences))
    (tmp_path / "scan.pdf").write_bytes(image_pdf(shared))
    rows, rejected, _ = _read(tmp_path)
    (doc,) = rows
    assert doc["locator"] == f"pdf:{tmp_path.name}/text.pdf" and doc["content_type"] == "application/pdf"
    assert doc["text"].split("\n\n") == ["\n".join(sentences[:3]), "\n".join(sentences[3:])]  # two pages
    (rej,) = rejected
    assert rej["reason"] == "pdf_no_text_layer" and "1 image(s)" in rej["detail"] and rej["input_path"].endswith("scan.pdf")


def test_format_forces_a_reader_and_bad_values_fail_the_spec(shared, tmp_path):
    (tmp_path / "laws").mkdir()
    (tmp_path / "laws" / "kaisha.dat").write_bytes((shared / KAISHA).read_bytes())
    (tmp_path / "laws" / ".hidden").write_text("x", encoding="utf-8")
    exp = expand_input(str(tmp_path / "laws"), "s", "l", format="law_xml")
    assert [f.kind for f in exp.files] == ["law_xml"] and [Path(s["path"]).name for s in exp.skipped] == [".hidden"]
    table, rejected, _ = read_inputs(exp.ranges)
    assert table.column("title").to_pylist() == ["会社法"] and rejected.num_rows == 0
    spec = write_spec(tmp_path / "spec.toml", [(tmp_path / "laws", "s", "l")])
    text = spec.read_text(encoding="utf-8").replace('license = "l"\n', 'license = "l"\nformat = "docx"\ntext_column = ""\n', 1)
    spec.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_spec(spec)
    assert "inputs[0].format" in str(err.value) and "inputs[0].text_column" in str(err.value)
    assert "unknown format 'docx'; known: api_answer, chabsa_json, edinet_zip, egov_bulk_zip, html, jsonl, kokkai_xml, law_xml, parquet, pdf, text, warc" in str(err.value)


def test_warc_truncated_header_record_is_rejected(shared, tmp_path):
    page = (shared / "law_html/lawegov_2013_sjis/html/bf2a36e69d30a929.html").read_bytes()
    path = tmp_path / "t.warc.gz"
    with path.open("wb") as fh:
        w = WARCWriter(fh, gzip=True, warc_version="1.1")
        for url, extra in (("http://a.example/full", {}), ("http://a.example/cut", {"WARC-Truncated": "length"})):
            body = page if not extra else page[:1000]
            rec = w.create_warc_record(url, "response", payload=BytesIO(body), warc_headers_dict=extra,
                                       http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=Shift_JIS")], protocol="HTTP/1.1"))
            w.write_record(rec)
    rows, rejected, _ = _read(path)
    assert [r["url"] for r in rows] == ["http://a.example/full"]
    assert rows[0]["warc_record_id"].startswith("<urn:uuid:") and rows[0]["payload_digest"].startswith("sha1:")
    assert [(r["url"], r["reason"], r["detail"]) for r in rejected] == [("http://a.example/cut", "warc_truncated_record", "WARC-Truncated: length")]
