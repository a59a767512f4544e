"""Every rule of every profile, HojiChar-style: a real text that passes it and one that fails it."""

from __future__ import annotations

import pytest

from corpus.filters.rules import load_profile
from corpus.resources import filters_dir
from corpus.filters.signals import compute_signals

from jp_texts import texts

PROFILES = sorted(p.stem for p in (filters_dir() / "quality").glob("*.toml"))

#: rule name -> (text that passes, text that fails). Shared by every profile using the rule name.
CASES = {
    "min_ja_score": ("law", "chinese"),
    "accept_japanese": ("finance", "aragonese"),
    "min_chars": ("finance", "short"),
    "min_japanese_chars": ("diet", "short"),
    "min_japanese_fraction": ("finance", "hashes"),
    "min_hiragana_fraction": ("finance", "headings"),
    "max_katakana_fraction": ("finance", "katakana_list"),
    "min_avg_sentence_chars": ("law", "headings"),
    "max_avg_sentence_chars": ("finance", "run_on"),
    "max_sentence_chars": ("law", "run_on"),
    "max_ellipsis_sentence_fraction": ("diet", "teasers"),
    "max_ellipsis_line_fraction": ("diet", "teasers"),
    "max_dup_line_fraction": ("diet", "repeated"),
    "max_dup_line_char_fraction": ("law", "repeated"),
    "max_dup_sentence_fraction": ("finance", "repeated"),
    "max_dup_sentence_char_fraction": ("finance", "repeated"),
    "max_top_char_2gram_fraction": ("law", "repeated_word"),
    "max_top_char_3gram_fraction": ("law", "repeated_word"),
    "max_top_char_4gram_fraction": ("law", "repeated_word"),
    "max_noun_ratio": ("finance", "nouns"),
    "max_ng_char_fraction": ("finance", "ng_many"),
    "max_ng_word_hits": ("finance", None),  # profile-dependent, see test_ng_word_hit_limits
    "max_chars_per_kuten": ("diet", "finance"),  # chABSA sentences carry no 。
    "max_char_5gram_repetition": ("finance", "repeated_word"),
    "max_special_char_fraction": ("law", "symbols"),
    "max_char_run": ("finance", "separator"),
    "max_short_line_fraction": ("finance", "headings"),
    "max_word_7gram_repetition": ("finance", "repeated"),
    "max_dup_word_5gram_fraction": ("finance", "repeated"),
    "max_dup_word_6gram_fraction": ("finance", "repeated"),
    "max_dup_word_7gram_fraction": ("finance", "repeated"),
    "max_dup_word_8gram_fraction": ("finance", "repeated"),
    "max_dup_word_9gram_fraction": ("finance", "repeated"),
    "max_dup_word_10gram_fraction": ("finance", "repeated"),
    "max_top_word_2gram_fraction": ("finance", "repeated_word"),
    "max_top_word_3gram_fraction": ("finance", "repeated_word"),
    "max_top_word_4gram_fraction": ("finance", "repeated_word"),
    "min_avg_word_chars": ("finance", "empty_words"),
    "max_avg_word_chars": ("finance", "digit_runs"),
    "min_compression_ratio": ("finance", "repeated"),
    "max_compression_ratio": ("finance", "base64"),
    "max_numeric_cell_fraction": ("finance", "balance_sheet"),
}

RULES = [(p, r) for p in PROFILES for r in load_profile(p).rules]


@pytest.mark.parametrize("profile,rule", RULES, ids=[f"{p}:{r.name}" for p, r in RULES])
def test_rule_passes_good_text_and_fails_bad_text(shared, profile, rule):
    assert rule.name in CASES, f"rule {rule.name} of {profile} has no test case"
    good, bad = CASES[rule.name]
    t = texts(shared)
    value = compute_signals(t[good], [rule.signal])[rule.signal]
    assert rule.judge(value) is None, f"{good!r} should pass {rule.name}: {rule.signal}={value}"
    if bad is None:
        return
    value = compute_signals(t[bad], [rule.signal])[rule.signal]
    why = rule.judge(value)
    assert why is not None, f"{bad!r} should fail {rule.name}: {rule.signal}={value}"
    assert (why.rule, why.value, why.threshold) == (rule.name, value, rule.threshold)


def test_ng_word_hit_limits(shared):
    """HojiChar drops on any hit, LLM-jp v1 only above 3 hits."""
    t = texts(shared)
    hits = {k: compute_signals(t[k], ["ng_word_hits"])["ng_word_hits"] for k in ("finance", "ng_one", "ng_many")}
    assert hits["finance"] == 0 and hits["ng_one"] == 1 and hits["ng_many"] > 3
    hoji = next(r for r in load_profile("hojichar").rules if r.name == "max_ng_word_hits")
    llmjp = next(r for r in load_profile("llm-jp-v1").rules if r.name == "max_ng_word_hits")
    assert hoji.judge(hits["ng_one"]) is not None and llmjp.judge(hits["ng_one"]) is None
    assert llmjp.judge(hits["ng_many"]) is not None


def test_chinese_is_not_japanese_but_kanji_heavy_law_is(shared):
    t = texts(shared)
    scores = {k: compute_signals(t[k], ["ja_score"])["ja_score"] for k in ("law", "finance", "diet", "chinese", "aragonese")}
    assert scores["chinese"] == 0.0 and scores["aragonese"] < 0.05
    assert min(scores["law"], scores["finance"], scores["diet"]) > 0.9


def test_quality_doc_lists_every_rule_of_every_profile():
    from corpus.filters.profile_doc import DOC, updated

    doc = DOC.read_text(encoding="utf-8")
    assert updated(doc) == doc, "docs/quality.md is stale: run python -m corpus.filters.profile_doc"
    for p, r in RULES:
        assert f"`{r.name}`" in doc and r.origin.split(" (")[0] in doc


def test_statute_enumerator_lines_are_not_duplicate_lines(shared):
    """Old e-Gov pages put 第一条 / 2 / 三 on lines of their own: structure, not repeated content."""
    from corpus.extract.stage import ExtractStage
    from corpus.filters.signals import compute_signals
    from corpus.sources.read import expand_input, read_inputs
    from corpus.text.normalize_stage import NormalizeStage

    exp = expand_input(str(shared / "near_dup/law_versions_sjis/ginkoho_S56HO059/2015-05-15.html"), "s", "l")
    table = NormalizeStage().process(ExtractStage().process(read_inputs(exp.ranges)[0]).kept).kept
    text = table.column("text")[0].as_py()
    lines = [line for line in text.split("\n") if line.strip()]
    assert lines.count("2") > 100 and lines.count("第一条") > 30  # the enumerators really repeat
    assert compute_signals(text, ["dup_line_fraction"])["dup_line_fraction"] < 0.1
    repeated = "\n".join(["金融庁は、銀行の業務の健全かつ適切な運営を確保する。"] * 6 + lines[:6])
    assert compute_signals(repeated, ["dup_line_fraction"])["dup_line_fraction"] > 0.3
