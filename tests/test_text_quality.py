"""Quality stage, NG words, PII, boilerplate and the default profile on real pages (no Ray)."""

from __future__ import annotations

import pyarrow as pa
import pytest

import corpus.filters.signals as signals_mod
from corpus.document import DOC_SCHEMA, docs_from_rows
from corpus.extract.stage import ExtractStage
from corpus.filters.boilerplate import BoilerplateStage, is_known_boilerplate
from corpus.filters.ngwords import NgWordMatcher, default_matcher
from corpus.filters.pii import PiiStage, luhn_valid, mynumber_valid, redact
from corpus.filters.quality import QualityStage
from corpus.filters.rules import ProfileError, load_profile
from corpus.sources.read import expand_input, read_inputs
from corpus.text.morphology import surfaces
from corpus.text.normalize_stage import NormalizeStage
from corpus.text.sentences import split_sentences

from jp_texts import texts


def _table(named: dict[str, str]) -> pa.Table:
    return docs_from_rows([{"doc_id": k, "locator": f"test:{k}", "text": v} for k, v in named.items()], DOC_SCHEMA)


def _pages(shared, *rel: str) -> dict[str, str]:
    out = {}
    for r in rel:
        table, _, _ = read_inputs(expand_input(str(shared / r), "s", "l").ranges)
        table = NormalizeStage().process(ExtractStage().process(table).kept).kept
        out[r.rsplit("/", 1)[-1]] = table.column("text")[0].as_py()
    return out


def test_sentences_split_on_japanese_terminators_and_line_breaks():
    assert split_sentences("預金を受け入れる。貸付けを行う！本当か？\n第一条 目的\n「はい。」と答えた") == [
        "預金を受け入れる。", "貸付けを行う！", "本当か？", "第一条 目的", "「はい。」", "と答えた",
    ]


def test_ng_words_match_whole_morphemes_only():
    matcher = NgWordMatcher(["ガス"])
    assert "ガス" in "アスパラガスを茹でる"  # a substring matcher would hit
    assert matcher.find(surfaces("アスパラガスを茹でる")) == []
    assert matcher.find(surfaces("ガスが漏れた")) == [(0, "ガス")]
    hits = default_matcher().find(surfaces("出会い系サイトで知り合った。"))
    assert [w for _, w in hits] == ["出会い系"]


def test_morphology_runs_only_on_documents_that_pass_the_cheap_rules(shared, monkeypatch):
    t = texts(shared)
    parsed: list[int] = []
    real = signals_mod.parse
    monkeypatch.setattr(signals_mod, "parse", lambda text: parsed.append(len(text)) or real(text))
    profile = load_profile("swallow-v1")
    out = QualityStage(profile).process(_table({"law": t["law"], "zh": t["chinese"], "an": t["aragonese"], "list": t["nouns"]}))
    assert parsed == [len(t["law"])]  # the rejected pages never reach MeCab
    assert out.kept.column("doc_id").to_pylist() == ["law"]
    rejected = {r["doc_id"]: r for r in out.rejected.to_pylist()}
    assert rejected["zh"]["rule"] == "min_ja_score" and rejected["zh"]["value"] == 0.0
    assert rejected["list"]["rule"] == "min_hiragana_fraction"  # a keyword list fails a cheap rule first
    cols = [c for c in out.kept.schema.names if c.startswith("q_")]
    for s in ("noun_ratio", "particle_ratio", "aux_verb_ratio", "symbol_ratio", "n_morphemes", "ja_score"):
        assert f"q_{s}" in cols
    row = out.kept.to_pylist()[0]
    assert all(row[c] is not None for c in cols)
    assert row["q_n_morphemes"] > 1000 and 0.3 < row["q_noun_ratio"] < 0.8


def test_profiles_need_origin_and_known_signal(tmp_path):
    bad = tmp_path / "p.toml"
    bad.write_text('[[rules]]\nname = "x"\nsignal = "noun_ratio"\nmax = 0.8\n', encoding="utf-8")
    with pytest.raises(ProfileError, match="origin"):
        load_profile(str(bad))


def test_default_profile_keeps_law_and_regulator_pages_and_names_why_others_drop(shared):
    pages = _pages(
        shared,
        "law_html/lawegov_2013_sjis/html/bf2a36e69d30a929.html",
        "law_html/lawegov_2013_sjis/html/d3706fc85c406a45.html",
        "law_html/egov_2025_utf8/341AC0000000138_19980401_409AC0000000089.html",
        "law_html/egov_2025_utf8/328M50000040075_20250501_507M60000002023.html",
        "gov_html/digital_agency_note_2021/n_n3690482b9676.html",
        "gov_html/digital_agency_note_2021/n_nf2c340029002.html",
        "warc/commoncrawl_whirlwind/whirlwind.warc.gz",
    )
    article = pages["n_n3690482b9676.html"]
    paragraph = next(line for line in article.split("\n") if len(line) > 60)
    nav = "\n".join(line for line in article.split("\n") if len(line) <= 12)
    t = texts(shared)
    docs = {
        **pages,
        "repetitive": "\n".join([paragraph] * 10),
        "nav_only": nav,
        "chinese": t["chinese"],
    }
    profile = load_profile("swallow-v1")
    out = QualityStage(profile).process(_table(docs))
    assert sorted(out.kept.column("doc_id").to_pylist()) == [
        "328M50000040075_20250501_507M60000002023.html", "341AC0000000138_19980401_409AC0000000089.html",
        "bf2a36e69d30a929.html", "d3706fc85c406a45.html", "n_n3690482b9676.html", "n_nf2c340029002.html",
    ]
    why = {r["doc_id"]: r["rule"] for r in out.rejected.to_pylist()}
    assert why == {
        "whirlwind.warc.gz": "min_ja_score",
        "chinese": "min_ja_score",
        "repetitive": "max_dup_line_fraction",
        "nav_only": "min_chars",
    }


def test_pii_is_replaced_by_typed_placeholders_and_counted(shared):
    finance = texts(shared)["finance"].split("\n")[0]
    text = (
        f"{finance}\nお問い合わせ: ir@example.co.jp 電話 03-3506-6000(代表) 携帯 090-1234-5678\n"
        "個人番号 1234 5678 9018 カード番号 4111-1111-1111-1111\n"
        "売上高 123456789012 円、証券コード 13790、無効カード 4111-1111-1111-1112、番号 1234 5678 9012"
    )
    out = PiiStage().process(_table({"d": text})).kept.to_pylist()[0]
    assert (out["pii_email"], out["pii_phone"], out["pii_mynumber"], out["pii_card"]) == (1, 2, 1, 1)
    red = out["text"]
    for placeholder in ("[EMAIL]", "[PHONE]", "[MYNUMBER]", "[CARD]"):
        assert placeholder in red
    for secret in ("ir@example.co.jp", "3506-6000", "090-1234-5678", "1234 5678 9018", "4111-1111-1111-1111"):
        assert secret not in red
    # Numbers failing the checksums stay: amounts, codes, mistyped numbers.
    for kept in ("123456789012", "13790", "4111-1111-1111-1112", "1234 5678 9012"):
        assert kept in red
    assert out["n_chars"] == len(red) and red.startswith(finance)
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert mynumber_valid("123456789018") and not mynumber_valid("123456789012")


def test_pii_types_are_configurable():
    text, counts = redact("ir@example.co.jp 03-3506-6000", ("phone",))
    assert text == "ir@example.co.jp [PHONE]" and counts == {"phone": 1}


def test_boilerplate_lines_repeated_on_a_site_are_removed_and_counted(shared):
    t = texts(shared)
    sentences = t["diet"].split("\n")
    chrome = ["ページの先頭へ戻る", "デジタル庁 note", "記事一覧"]
    rows = []
    for i in range(4):
        body = "\n".join(sentences[i * 3 : i * 3 + 3])
        rows.append({"doc_id": f"d{i}", "locator": f"x{i}", "url": f"https://note.digital.go.jp/n/{i}",
                     "text": f"{chrome[1]}\n{body}\n{chrome[2]}\n{chrome[0]}"})
    rows.append({"doc_id": "other", "locator": "y", "url": "https://www.fsa.go.jp/a.html", "text": f"{chrome[1]}\n{sentences[20]}"})
    rows.append({"doc_id": "empty", "locator": "z", "url": "https://www.fsa.go.jp/b.html", "text": "ページの先頭へ戻る\n印刷する"})
    out = BoilerplateStage(min_docs=3).process(docs_from_rows(rows))
    kept = {r["doc_id"]: r for r in out.kept.to_pylist()}
    for i in range(4):
        assert kept[f"d{i}"]["boilerplate_lines"] == 3
        assert not any(c in kept[f"d{i}"]["text"] for c in chrome)
        assert sentences[i * 3] in kept[f"d{i}"]["text"]
    assert kept["other"]["boilerplate_lines"] == 0 and "デジタル庁 note" in kept["other"]["text"]  # other host
    assert out.rejected.to_pylist()[0]["reason"] == "empty_after_boilerplate"
    assert is_known_boilerplate("当サイトではCookieを使用しています。") and not is_known_boilerplate(sentences[0])


def test_captures_of_one_page_count_once_so_its_article_keeps_its_lines(shared):
    """Four snapshots of one Digital Agency article (no URL: files) share their title, so they are one
    page: their common lines are that page's text, not site chrome, and none is removed."""
    snaps = _pages(shared, *[f"near_dup/digital_agency_note_snapshots/nf2c340029002/{p.name}"
                             for p in sorted((shared / "near_dup/digital_agency_note_snapshots/nf2c340029002").glob("*.html"))])
    assert len(snaps) == 4
    rows = [{"doc_id": n, "locator": f"file:{n}", "source": "note", "title": "デジタル庁が大切にしたい、アクセシビリティとアカウンタビリティ", "text": t}
            for n, t in snaps.items()]
    out = BoilerplateStage(min_docs=3, known=False).process(docs_from_rows(rows))
    assert [r["boilerplate_lines"] for r in out.kept.to_pylist()] == [0, 0, 0, 0]
    assert [r["text"] for r in out.kept.to_pylist()] == list(snaps.values())
    # Counted as four pages (distinct titles), the same lines would all look like chrome.
    as_pages = [{**r, "title": f"page {i}"} for i, r in enumerate(rows)]
    stripped = BoilerplateStage(min_docs=3, known=False).process(docs_from_rows(as_pages))
    assert min(r["boilerplate_lines"] for r in stripped.kept.to_pylist()) > 20


def test_japanese_punctuation_option_keeps_sentence_ends(shared):
    from corpus.text.normalize import normalize_text

    law = texts(shared)["law"]
    academic = law.replace("、", "，").replace("。", "．")  # the ，． style of some official texts
    assert normalize_text(academic, japanese_punctuation=True) == law
    plain = normalize_text(academic)
    assert "。" not in plain and "," in plain  # NFKC alone leaves no sentence ends
    assert len(split_sentences(normalize_text(academic, japanese_punctuation=True))) > len(split_sentences(plain))


def test_pii_leaves_real_financial_and_law_text_alone_and_skips_number_rows(shared):
    """No false positives on 230 chABSA filings and 127 statutes; year rows are not My Numbers."""
    import json

    from corpus.text.normalize import normalize_text

    docs = [
        "\n".join(s["sentence"] for s in json.loads(p.read_text(encoding="utf-8"))["sentences"])
        for p in sorted((shared / "finance/chabsa").glob("*.json"))
    ] + [p.read_text(encoding="utf-8") for p in sorted((shared / "law_html/lawegov_2013_sjis/text").glob("*.txt"))]
    assert len(docs) == 357
    for d in docs:
        text = normalize_text(d)
        assert redact(text) == (text, dict.fromkeys(("email", "phone", "mynumber", "card"), 0))
    for row in ("2015 2016 2017 2018", "2016 2017 2018", "2016-2017-2018"):
        assert redact(row)[0] == row
    for card in ("378282246310005", "3782 822463 10005", "3530111333300000", "5555-5555-5555-4444"):
        assert redact(f"番号 {card} です")[0] == "番号 [CARD] です"


def test_new_thresholds_reapply_from_score_columns_without_recomputing(shared, monkeypatch):
    from corpus.filters.quality import rejudge

    t = texts(shared)
    docs = {"law": t["law"], "finance": t["finance"], "diet": t["diet"]}
    profile = load_profile("swallow-v1")
    kept = QualityStage(profile).process(_table(docs)).kept
    assert kept.num_rows == 3 and rejudge(kept, profile) == []
    stricter = profile.with_thresholds({"max_noun_ratio": 0.5, "min_chars": 5000})
    monkeypatch.setattr(signals_mod, "parse", lambda text: pytest.fail("rejudge must not parse"))
    again = {d: (w.rule, w.value) for d, w in rejudge(kept, stricter)}
    monkeypatch.undo()  # the same decisions, computed from the text again
    recomputed = {r["doc_id"]: (r["rule"], r["value"]) for r in QualityStage(stricter).process(_table(docs)).rejected.to_pylist()}
    assert again == recomputed and again


def test_lean_parse_gives_fugashis_own_surfaces_and_parts_of_speech(shared):
    """parse() reads MeCab's lean output; it must say exactly what fugashi's node objects say."""
    import fugashi

    from corpus.text.morphology import CHUNK_CHARS, _chunks, parse

    reference = fugashi.Tagger()
    t = texts(shared)
    edge = "\u3000冒頭の全角空白と絵文字🀄、半角ｶﾅ、タブ\tと改行\nも含む文。\u3000"
    long_law = "\n".join([t["law"]] * (CHUNK_CHARS // len(t["law"]) + 2))  # several chunks
    for text in (t["law"], t["finance"], t["diet"], edge, long_law):
        m = parse(text)
        expected = [(w.surface, w.feature.pos1) for chunk in _chunks(text) for w in reference(chunk)]
        assert list(zip(m.surfaces, m.pos)) == expected
    assert len(_chunks(long_law)) > 1
    assert parse("").surfaces == [] and parse(" \n ").surfaces == []


def test_character_class_counts_follow_the_unicode_definitions(shared):
    """The numpy table lookup counts what the regular expressions and str.isalpha count."""
    import re

    from corpus.text.chars import char_class_counts

    classes = {
        "hiragana": re.compile(r"[\u3041-\u3096]"),
        "katakana": re.compile(r"[\u30a1-\u30fa\u30fc]"),
        "kanji": re.compile(r"[\u3005\u3007\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff]"),
    }
    t = texts(shared)
    for text in (t["law"], t["finance"], t["aragonese"], t["chinese"], "𠮷野家の牛丼🀄ｶﾀｶﾅＡ①", ""):
        counts = char_class_counts(text)
        for name, pattern in classes.items():
            assert counts[name] == len(pattern.findall(text)), name
        assert counts["japanese"] == counts["hiragana"] + counts["katakana"] + counts["kanji"]
        assert counts["letters"] == sum(c.isalpha() for c in text)


def test_ngram_hash_series_equals_hashing_each_n_alone(shared):
    import numpy as np

    from corpus.filters.repetition import ngram_hash_series, ngram_hashes
    from corpus.text.chars import codepoints

    seq = codepoints(texts(shared)["law"][:5000])
    for n, h in ngram_hash_series(seq, range(2, 11)):
        assert np.array_equal(h, ngram_hashes(seq, n))
    assert [len(h) for _, h in ngram_hash_series(seq[:6], range(5, 9))] == [2, 1, 0, 0]
