"""Quality signals. Each maps a document to numbers that are kept as ``q_<signal>`` columns.

Signals are registered by name so profiles (data files) can refer to them, and so a signal is
computed once however many rules read it: signals come in families that share one pass over the
text. Every family declares a cost tier. ``char`` families read characters, lines and sentences
(microseconds per kilobyte); ``morph`` families need a MeCab parse (the costliest step). The
quality stage judges all ``char`` rules first and parses only the documents that survive them.
"""

from __future__ import annotations

import re

import string
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from itertools import compress, filterfalse
from typing import Literal

import numpy as np

from corpus.filters import repetition as rep
from corpus.filters.language import japanese_score, kana_in_head
from corpus.text.chars import char_class_counts, codepoints
from corpus.text.morphology import Morphemes, parse
from corpus.text.sentences import count_ellipsis_endings, split_lines, split_sentences
from corpus.text.tables import numeric_cell, table_cells

Tier = Literal["char", "morph"]
#: Tiers in evaluation order: every rule on a cheaper tier is judged before any costlier signal runs.
TIERS: tuple[Tier, ...] = ("char", "morph")


class TextView:
    """One document's text with its derived views, each built at most once and only if asked."""

    def __init__(self, text: str):
        self.text = text

    @cached_property
    def lines(self) -> list[str]:
        return split_lines(self.text)

    @cached_property
    def sentences(self) -> list[str]:
        return split_sentences(self.text)

    @cached_property
    def codepoints(self) -> np.ndarray:
        return codepoints(self.text)

    @cached_property
    def codepoints_without_spaces(self) -> np.ndarray:
        # Swallow v1 measures n-gram repetition on characters, not words; whitespace does not count.
        return codepoints("".join(self.text.split()))

    @cached_property
    def char_counts(self) -> dict[str, int]:
        return char_class_counts(self.codepoints)

    @cached_property
    def morphemes(self) -> Morphemes:
        return parse(self.text)

    @cached_property
    def word_ids(self) -> np.ndarray:
        """Each morpheme as an integer: the order of its surface's first occurrence."""
        surfaces = self.morphemes.surfaces
        ids = {s: i for i, s in enumerate(dict.fromkeys(surfaces))}
        return np.fromiter(map(ids.__getitem__, surfaces), dtype=np.uint64, count=len(surfaces))

    @cached_property
    def word_lengths(self) -> np.ndarray:
        surfaces = self.morphemes.surfaces
        return np.fromiter(map(len, surfaces), dtype=np.int64, count=len(surfaces))


FamilyFn = Callable[[TextView], dict[str, float]]


@dataclass(frozen=True)
class Family:
    """Signals computed together, and what they cost."""

    name: str
    tier: Tier
    signals: tuple[str, ...]
    fn: FamilyFn


_FAMILIES: dict[str, Family] = {}
#: signal name -> its family.
_BY_SIGNAL: dict[str, Family] = {}


def register(name: str, tier: Tier, signals: tuple[str, ...]) -> Callable[[FamilyFn], FamilyFn]:
    """Decorator: register a family function that returns exactly ``signals``."""

    def wrap(fn: FamilyFn) -> FamilyFn:
        fam = Family(name, tier, signals, fn)
        _FAMILIES[name] = fam
        for s in signals:
            if s in _BY_SIGNAL:
                raise ValueError(f"signal {s!r} registered twice")
            _BY_SIGNAL[s] = fam
        return fn

    return wrap


# --- character tier -------------------------------------------------------------------------


@register("chars", "char", ("n_chars", "japanese_chars", "japanese_fraction", "hiragana_fraction", "katakana_fraction"))
def _char_signals(view: TextView) -> dict[str, float]:
    text = view.text
    counts = view.char_counts
    n = max(1, len(text))
    jp = counts["japanese"]
    return {
        "n_chars": float(len(text)),
        "japanese_chars": float(jp),
        "japanese_fraction": jp / n,
        # Swallow v1 measures kana fractions over Japanese letters, not over all characters.
        "hiragana_fraction": counts["hiragana"] / max(1, jp),
        "katakana_fraction": counts["katakana"] / max(1, jp),
    }


@register("language", "char", ("ja_score", "kana_in_head"))
def _language(view: TextView) -> dict[str, float]:
    return {"ja_score": japanese_score(view.text, view.char_counts), "kana_in_head": kana_in_head(view.text)}


@register(
    "sentences", "char",
    ("avg_sentence_chars", "max_sentence_chars", "ellipsis_sentence_fraction", "chars_per_kuten"),
)
def _sentences(view: TextView) -> dict[str, float]:
    lengths = [len(s) for s in view.sentences] or [0]
    n = max(1, len(view.sentences))
    return {
        "avg_sentence_chars": sum(lengths) / n,
        "max_sentence_chars": float(max(lengths)),
        "ellipsis_sentence_fraction": count_ellipsis_endings(view.sentences) / n,
        # HojiChar DiscardRareKuten rejects when count(。) < len / 100, i.e. len / count(。) > 100.
        "chars_per_kuten": len(view.text) / max(1, view.text.count("。")),
    }


def _duplicates(items: list[str]) -> tuple[float, float]:
    """Share of items, and of their characters, that repeat an earlier item (Gopher/Swallow)."""
    if not items:
        return 0.0, 0.0
    seen: set[str] = set()
    dup_n = dup_chars = total = 0
    for it in items:
        total += len(it)
        if it in seen:
            dup_n += 1
            dup_chars += len(it)
        else:
            seen.add(it)
    return dup_n / len(items), dup_chars / max(1, total)


#: A line that is only a statute enumerator: 第一条, 2, 三, (四), 第二条の三, イ. Old e-Gov pages put
#: every paragraph and item number on its own line, so a statute "repeats" the line "2" a hundred
#: times; those are structure, not boilerplate, and must not count as duplicate lines.
ENUMERATOR_LINE = re.compile(
    r"^[(（]?第?[0-9０-９一二三四五六七八九十百千〇]+(?:条|項|号|章|節|款|目|編)?"
    r"(?:の[0-9０-９一二三四五六七八九十百千〇]+)*[)）]?$|^[(（]?[イロハニホヘトチリヌルヲワカヨタレソツネナラム][)）]?$"
)


def _content_lines(items: list[str]) -> list[str]:
    """Items (stripped lines or sentences) that are not a bare statute enumerator."""
    return list(filterfalse(ENUMERATOR_LINE.match, items))


@register(
    "lines", "char",
    (
        "dup_line_fraction", "dup_line_char_fraction", "dup_sentence_fraction", "dup_sentence_char_fraction",
        "ellipsis_line_fraction", "short_line_fraction",
    ),
)
def _lines(view: TextView) -> dict[str, float]:
    lines = view.lines
    n = max(1, len(lines))
    dl, dlc = _duplicates(_content_lines(lines))
    ds, dsc = _duplicates(_content_lines(view.sentences))
    return {
        "dup_line_fraction": dl,
        "dup_line_char_fraction": dlc,
        "dup_sentence_fraction": ds,
        "dup_sentence_char_fraction": dsc,
        "ellipsis_line_fraction": count_ellipsis_endings(lines) / n,
        # HojiChar DiscardTooShortLines: lines of at most 10 characters.
        "short_line_fraction": sum(len(s) <= 10 for s in lines) / n,
    }


# Character n-gram signals come in three families so a profile pays only for the sorts it reads:
# Swallow reads the top 2-4-grams, the duplicate 5-10-grams are Gopher/Swallow's optional set,
# the 5-gram repetition and the longest run are HojiChar's.


@register("top_char_ngrams", "char", tuple(f"top_char_{n}gram_fraction" for n in (2, 3, 4)))
def _top_char_ngrams(view: TextView) -> dict[str, float]:
    seq = view.codepoints_without_spaces
    return {f"top_char_{n}gram_fraction": rep.top_ngram_fraction(seq, n, hashes=h) for n, h in rep.ngram_hash_series(seq, range(2, 5))}


@register("dup_char_ngrams", "char", tuple(f"dup_char_{n}gram_fraction" for n in range(5, 11)))
def _dup_char_ngrams(view: TextView) -> dict[str, float]:
    seq = view.codepoints_without_spaces
    return {f"dup_char_{n}gram_fraction": rep.duplicate_ngram_fraction(seq, n, hashes=h) for n, h in rep.ngram_hash_series(seq, range(5, 11))}


@register("char_repetition", "char", ("char_5gram_repetition", "max_char_run"))
def _char_repetition(view: TextView) -> dict[str, float]:
    return {
        "char_5gram_repetition": rep.top_sqrt_repetition_ratio(view.codepoints, 5),
        "max_char_run": float(rep.longest_run(view.codepoints)),
    }


_SPECIAL = set(string.punctuation + string.digits + string.whitespace) | set("、。・「」『』（）【】〔〕［］｛｝〈〉《》…‥ー―－〜～：；！？＃＄％＆＊＋＝＠＾｜￥※●○◎◆◇■□▲△▼▽★☆♪→←↑↓")


@register("special", "char", ("special_char_fraction", "compression_ratio"))
def _special(view: TextView) -> dict[str, float]:
    text = view.text
    n = max(1, len(text))
    # BigScience special characters (punctuation, digits, whitespace) plus CJK punctuation and emoji,
    # as HojiChar's DiscardTooManySpecialToken counts them.
    special = sum(1 for c in text if c in _SPECIAL or ord(c) >= 0x1F000)
    raw = text.encode("utf-8")
    return {
        "special_char_fraction": special / n,
        # LLM-jp v1: zlib-compressed size over raw size; very low = repetitive, very high = noise.
        "compression_ratio": len(zlib.compress(raw)) / max(1, len(raw)),
    }


@register("tables", "char", ("table_line_fraction", "numeric_cell_fraction"))
def _tables(view: TextView) -> dict[str, float]:
    rows = [cells for line in view.lines if (cells := table_cells(line)) is not None]
    cells = [c for row in rows for c in row if c.strip()]
    return {
        # Lines that are table rows (two or more cells), among all lines.
        "table_line_fraction": len(rows) / max(1, len(view.lines)),
        # Cells holding a number, among the non-empty cells of those rows: high for a balance sheet,
        # low for a table of risks or a company history.
        "numeric_cell_fraction": sum(map(numeric_cell, cells)) / max(1, len(cells)),
    }


# --- morphology tier ------------------------------------------------------------------------

_CONTENT_POS = {"名詞", "代名詞"}


@register(
    "morphology", "morph",
    ("n_morphemes", "noun_ratio", "particle_ratio", "aux_verb_ratio", "symbol_ratio", "avg_word_chars"),
)
def _morphology(view: TextView) -> dict[str, float]:
    m = view.morphemes
    pos = Counter(m.pos)
    n = len(m)
    symbols = pos["補助記号"] + pos["記号"] + pos["空白"]
    words = n - pos["補助記号"]
    return {
        "n_morphemes": float(n),
        # HojiChar DiscardTooManyNouns: nouns over morphemes, ignoring supplementary symbols (補助記号).
        "noun_ratio": pos["名詞"] / max(1, words),
        "particle_ratio": pos["助詞"] / max(1, words),
        "aux_verb_ratio": pos["助動詞"] / max(1, words),
        "symbol_ratio": symbols / max(1, n),
        "avg_word_chars": (sum(map(len, m.surfaces)) - sum(map(len, compress(m.surfaces, map("補助記号".__eq__, m.pos))))) / max(1, words),
    }


@register("top_word_ngrams", "morph", tuple(f"top_word_{n}gram_fraction" for n in (2, 3, 4)))
def _top_word_ngrams(view: TextView) -> dict[str, float]:
    seq, lengths = view.word_ids, view.word_lengths
    return {f"top_word_{n}gram_fraction": rep.top_ngram_fraction(seq, n, lengths, h) for n, h in rep.ngram_hash_series(seq, range(2, 5))}


@register("dup_word_ngrams", "morph", tuple(f"dup_word_{n}gram_fraction" for n in range(5, 11)))
def _dup_word_ngrams(view: TextView) -> dict[str, float]:
    seq, lengths = view.word_ids, view.word_lengths
    return {f"dup_word_{n}gram_fraction": rep.duplicate_ngram_fraction(seq, n, lengths, h) for n, h in rep.ngram_hash_series(seq, range(5, 11))}


@register("word_repetition", "morph", ("word_7gram_repetition",))
def _word_repetition(view: TextView) -> dict[str, float]:
    return {"word_7gram_repetition": rep.repetition_ratio(view.word_ids, 7)}


@register("ngwords", "morph", ("ng_word_hits", "ng_char_fraction"))
def _ngwords(view: TextView) -> dict[str, float]:
    from corpus.filters.ngwords import default_matcher

    hits, chars = default_matcher().match(view.morphemes.surfaces)
    return {"ng_word_hits": float(hits), "ng_char_fraction": chars / max(1, len(view.text))}


# --- lookup ---------------------------------------------------------------------------------


def known_signals() -> list[str]:
    return sorted(_BY_SIGNAL)


def signal_tier(name: str) -> Tier:
    return _BY_SIGNAL[name].tier


def family_signals(names: list[str]) -> list[str]:
    """Every signal of the families that compute ``names``, in registration order (the columns)."""
    fams = {_BY_SIGNAL[n].name for n in names}
    return [s for f in _FAMILIES.values() if f.name in fams for s in f.signals]


def compute_family(view: TextView, name: str, out: dict[str, float]) -> None:
    """Add the values of ``name``'s family to ``out`` unless already there."""
    if name not in out:
        out.update(_BY_SIGNAL[name].fn(view))


def compute_signals(text: str, names: list[str]) -> dict[str, float]:
    """Values of the named signals; each family runs at most once."""
    view = TextView(text)
    out: dict[str, float] = {}
    for name in names:
        compute_family(view, name, out)
    return {n: out[n] for n in names}
