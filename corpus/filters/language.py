"""Is this Japanese? A script-based score, with no model to download.

The score is the share of Japanese script (hiragana, katakana, kanji) among all letters, scaled
down when kana are scarce among the Japanese script: Chinese is written in kanji (hanzi) alone,
while even the most kanji-heavy Japanese (statutes, headings) carries okurigana and particles in
kana. So English or Aragonese scores near 0 (few CJK letters), Chinese scores near 0 (no kana),
Japanese prose and law text score near 1.

Limits, stated so nobody mistakes this for language ID: it cannot tell Japanese from a mixed
Japanese/other page except by proportion, and a Chinese page quoting Japanese kana would score
by its kana share. Public corpora use model-based LID (Swallow: nanigo, FineWeb-2: GlotLID,
HojiChar: fastText lid.176); this project's inputs are chosen Japanese sources, where the job is
to catch the stray foreign page, which script counting does reliably.
"""

from __future__ import annotations

from corpus.text.chars import char_class_counts

#: Kana share of Japanese script at and above which kana scarcity no longer lowers the score.
#: Japanese statutes measure about 0.25-0.40, Chinese text 0.
KANA_SATURATION = 0.05
#: Characters at the start of a document where HojiChar's AcceptJapanese looks for kana.
HEAD_CHARS = 50


def japanese_score(text: str, counts: dict[str, int] | None = None) -> float:
    """Score in [0, 1]: Japanese-script share of letters times a kana-presence factor.

    ``counts``: the text's ``char_class_counts`` when the caller already has them.
    """
    counts = counts or char_class_counts(text)
    letters = counts["letters"]
    if letters == 0:
        return 0.0
    jp = counts["japanese"]
    kana = counts["hiragana"] + counts["katakana"]
    kana_factor = min(1.0, (kana / jp) / KANA_SATURATION) if jp else 0.0
    return min(1.0, jp / letters) * kana_factor


def kana_in_head(text: str, head: int = HEAD_CHARS) -> float:
    """1.0 if the first ``head`` characters contain hiragana or katakana (HojiChar AcceptJapanese)."""
    counts = char_class_counts(text[:head])
    return 1.0 if counts["hiragana"] + counts["katakana"] else 0.0
