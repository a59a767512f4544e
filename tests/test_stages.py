"""Each document stage on real data, called directly (no Ray)."""

from __future__ import annotations

import pyarrow as pa
import sentencepiece as spm

from corpus.dedup.exact import exact_duplicates
from corpus.document import DOC_SCHEMA, docs_from_rows, make_doc_id
from corpus.extract.stage import ExtractStage
from corpus.filters.quality import QualityStage
from corpus.filters.rules import load_profile
from corpus.sources.read import expand_input, read_inputs
from corpus.stage import count_output
from corpus.text.normalize import normalize_text
from corpus.text.normalize_stage import NormalizeStage
from corpus.tokens.counter import TokenCountStage
from corpus.tokens.tokenizer import load_tokenizer
from corpus.tokens.shards import plan_shards

from conftest import SAMPLE_MODEL


def _raw(path, source="s"):
    table, _, _ = read_inputs(expand_input(str(path), source, "LicenseRef-test").ranges)
    return table


def _row(**kw):
    base = {"doc_id": "d", "locator": "file:x", "content_type": "text/html"}
    return docs_from_rows([{**base, **kw}])


def test_doc_id_is_stable_and_depends_on_locator_and_content():
    a = make_doc_id("file:a.html", "00")
    assert a == make_doc_id("file:a.html", "00")
    assert a != make_doc_id("file:b.html", "00") and a != make_doc_id("file:a.html", "01")
    assert len(a) == 32


def test_extract_real_law_page_and_drop_raw_bytes(shared):
    table = _raw(shared / "law_html/egov_2025_utf8/139AC0000000051_20250601_504AC0000000068.html")
    out = ExtractStage().process(table)
    assert out.rejected.num_rows == 0
    row = out.kept.to_pylist()[0]
    assert "raw" not in out.kept.schema.names
    assert row["title"] == "紙幣類似証券取締法"
    assert "第一条" in row["text"] and row["charset_evidence"] == "meta:utf-8"


def test_extraction_gives_trafilaturas_own_text_and_title_without_its_date_search(shared):
    """extract_html skips trafilatura's metadata pass (its htmldate search doubles the cost) but
    must return exactly what trafilatura's full pass returns for text and title."""
    import trafilatura

    from corpus.extract.charset import decode_bytes
    from corpus.extract.html import extract_html

    pages = sorted((shared / "gov_html/digital_agency_note_2021").glob("*.html"))
    pages += sorted((shared / "law_html/lawegov_2013_sjis/html").glob("*.html"), key=lambda p: p.stat().st_size)[:8]
    pages += [shared / "law_html/egov_2025_utf8/139AC0000000051_20250601_504AC0000000068.html"]
    titles = set()
    for page in pages:
        html = decode_bytes(page.read_bytes()).text
        full = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False, include_tables=True, favor_recall=True, deduplicate=False)
        ours = extract_html(html)
        assert (ours.text, ours.title) == (full.text, full.title or None), page.name
        titles.add(ours.title)
    assert len(titles) == len(pages)  # og:title, <title> and <h1> pages all carry their own title


def test_extract_rejects_broken_inputs_and_keeps_the_good_one(shared, tmp_path):
    (tmp_path / "good.html").write_bytes((shared / "law_html/lawegov_2013_sjis/html/bf2a36e69d30a929.html").read_bytes())
    (tmp_path / "empty.html").write_bytes(b"")
    (tmp_path / "binary.html").write_bytes((shared / "finance/cpa_audit/CPA_AUDIT.xlsx").read_bytes())
    (tmp_path / "nav.html").write_bytes(b"<html><head><script>var page = 1;</script></head><body></body></html>")
    table = _raw(tmp_path)
    out = ExtractStage().process(table)
    reasons = {r["locator"].rsplit("/", 1)[1]: r["reason"] for r in out.rejected.to_pylist()}
    assert reasons == {"empty.html": "empty_input", "binary.html": "binary_content", "nav.html": "no_main_text"}
    assert out.kept.num_rows == 1 and "株式会社国際協力銀行法施行令" in out.kept.column("text")[0].as_py()
    assert count_output(table, out).docs_in == 4


def test_extract_rejects_non_text_content_types():
    out = ExtractStage().process(_row(raw=b"\x89PNG\r\n", content_type="image/png"))
    assert out.rejected.to_pylist()[0]["reason"] == "unsupported_content_type"


def test_extraction_timeout_is_a_rejection_with_the_limit(shared):
    table = _raw(shared / "law_html/egov_2025_utf8/356AC0000000059_20250601_504AC0000000068.html")
    out = ExtractStage(timeout_seconds=0.05).process(table)
    rej = out.rejected.to_pylist()[0]
    assert rej["reason"] == "extraction_timeout" and rej["value"] == 0.05


def test_nfkc_folds_width_and_keeps_dakuten():
    text = normalize_text("ＡＢＣ１２３　ﾃﾞｰﾀ\u200b と データ\r\n\n\n\n次の行")
    assert text == "ABC123 データ と データ\n\n次の行"
    assert "テータ" not in text


def test_normalize_stage_sets_hash_and_length_and_rejects_blank():
    out = NormalizeStage().process(_row(text="　\u200b "))
    assert out.rejected.to_pylist()[0]["reason"] == "empty_after_normalization"
    out = NormalizeStage().process(_row(text="銀行法"))
    row = out.kept.to_pylist()[0]
    assert row["n_chars"] == 3 and len(row["text_sha256"]) == 64


def test_basic_profile_keeps_law_text_and_names_the_failed_rule(shared):
    profile = load_profile("basic")
    law = (shared / "law_html/lawegov_2013_sjis/text/bf2a36e69d30a929.txt").read_text(encoding="utf-8")
    english = "The Bank of Japan is the central bank of Japan. " * 20
    kanji_list = "銀行法施行令第一条第二項第三号" * 40  # no hiragana: a heading list, not prose
    table = docs_from_rows(
        [{"doc_id": f"d{i}", "locator": f"x{i}", "text": t} for i, t in enumerate([law, "銀行法の一部を改正する。", english, kanji_list])],
        DOC_SCHEMA,
    )
    out = QualityStage(profile).process(table)
    assert out.kept.column("doc_id").to_pylist() == ["d0"]
    assert 0.2 <= out.kept.column("q_hiragana_fraction")[0].as_py() <= 1
    rejected = {r["doc_id"]: r for r in out.rejected.to_pylist()}
    assert rejected["d1"]["rule"] == "min_chars" and rejected["d1"]["value"] == 12 and rejected["d1"]["threshold"] == 400
    assert rejected["d2"]["rule"] == "min_japanese_fraction" and rejected["d2"]["value"] < 0.5
    assert rejected["d3"]["rule"] == "min_hiragana_fraction" and rejected["d3"]["value"] == 0.0


def test_threshold_override_changes_the_decision(shared):
    text = (shared / "law_html/lawegov_2013_sjis/text/bf2a36e69d30a929.txt").read_text(encoding="utf-8")
    table = docs_from_rows([{"doc_id": "d", "locator": "x", "text": text}])
    strict = load_profile("basic").with_thresholds({"min_chars": len(text) + 1})
    assert QualityStage(strict).process(table).kept.num_rows == 0


def test_token_counts_equal_sentencepiece_encode(shared):
    texts = [(shared / f"law_html/lawegov_2013_sjis/text/{n}.txt").read_text(encoding="utf-8") for n in ("bf2a36e69d30a929", "d3706fc85c406a45")]
    table = docs_from_rows([{"doc_id": str(i), "locator": str(i), "text": t} for i, t in enumerate(texts)])
    out = TokenCountStage(load_tokenizer(SAMPLE_MODEL), batch_size=1).process(table)
    sp = spm.SentencePieceProcessor(model_file=str(SAMPLE_MODEL))
    assert out.kept.column("n_tokens").to_pylist() == [len(sp.encode(t)) for t in texts]


def test_exact_duplicates_keep_the_priority_source_and_point_at_it():
    table = pa.table({
        "doc_id": ["b", "a", "c", "d"], "text_sha256": ["h1", "h1", "h1", "h2"],
        "source": ["mirror", "mirror", "primary", "mirror"], "locator": ["lb", "la", "lc", "ld"],
        "url": [None] * 4, "input_path": [None] * 4,
    })
    dups = exact_duplicates(table, {"primary": 0, "mirror": 1}).to_pylist()
    assert [(d["doc_id"], d["duplicate_of"], d["stage"]) for d in dups] == [("a", "c", "dedup_exact"), ("b", "c", "dedup_exact")]
    # Without priorities the locator decides, never arrival order.
    dups = exact_duplicates(table).to_pylist()
    assert {d["duplicate_of"] for d in dups} == {"a"}


def test_shard_plan_respects_budget_and_hash_order_not_arrival_order():
    from corpus.tokens.split import order_key

    plans = plan_shards(["c", "a", "b", "d"], [5, 4, 3, 20], target_tokens=8, tolerance=0.25)
    # Arrival order does not matter: the same ids in another order give the same plan.
    assert plans == plan_shards(["d", "b", "a", "c"], [20, 3, 4, 5], target_tokens=8, tolerance=0.25)
    assert all(p.split == "train" for p in plans) and [p.filename for p in plans][0] == "train-00000.parquet"
    assert sorted(d for p in plans for d in p.doc_ids) == ["a", "b", "c", "d"]
    assert ("d",) in [p.doc_ids for p in plans]  # 20 tokens > 10 (upper bound): a shard of its own
    small = [d for p in plans for d in p.doc_ids if d != "d"]
    assert small == sorted(small, key=lambda d: order_key(0, d))
