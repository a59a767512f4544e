"""Repetition measures over characters or words, vectorised with numpy.

The public corpora define these in Python loops over n-gram strings (datatrove's Gopher filter,
Swallow's quality.py, BigScience/HojiChar). Done that way, the character n-gram checks alone cost
more than parsing the text with MeCab; here n-grams are 64-bit polynomial hashes of integer
sequences (code points, or word ids), so every measure is a few numpy passes. A hash collision
could only merge two n-grams, with odds near 2**-64 per pair.
"""

from __future__ import annotations

import numpy as np

_BASE = np.uint64(1_000_003)


def codepoints(text: str) -> np.ndarray:
    """The text as an array of Unicode code points."""
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def ngram_hashes(seq: np.ndarray, n: int) -> np.ndarray:
    """Hash of every length-``n`` window of ``seq`` (empty if ``seq`` is shorter than ``n``)."""
    m = len(seq) - n + 1
    if m <= 0:
        return np.empty(0, dtype=np.uint64)
    h = np.zeros(m, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * _BASE + seq[k : k + m] + np.uint64(1)
    return h


def _window_sums(lengths: np.ndarray, n: int) -> np.ndarray:
    c = np.concatenate(([0], np.cumsum(lengths)))
    return c[n:] - c[:-n]


def top_ngram_fraction(seq: np.ndarray, n: int, lengths: np.ndarray | None = None) -> float:
    """Characters covered by the most frequent n-gram (count x its length) over all characters.

    As datatrove's Gopher ``find_top_duplicate`` / Swallow's top-n-gram check. ``lengths`` gives
    the characters of each item (words); characters are length 1.
    """
    h = ngram_hashes(seq, n)
    total = float(len(seq) if lengths is None else lengths.sum())
    if len(h) == 0 or total == 0:
        return 0.0
    uniq, first, counts = np.unique(h, return_index=True, return_counts=True)
    best = int(np.argmax(counts))
    if counts[best] < 2:
        return 0.0
    size = n if lengths is None else int(_window_sums(lengths, n)[first[best]])
    return float(counts[best]) * size / total


def duplicate_ngram_fraction(seq: np.ndarray, n: int, lengths: np.ndarray | None = None) -> float:
    """Share of characters inside an n-gram that already occurred earlier in the text.

    The Gopher definition (characters in duplicated n-grams, first occurrences not counted),
    measured as the union of the repeated windows so overlapping repeats are not counted twice.
    """
    h = ngram_hashes(seq, n)
    if len(h) == 0:
        return 0.0
    _, first, inverse = np.unique(h, return_index=True, return_inverse=True)
    repeated = first[inverse] != np.arange(len(h))
    if not repeated.any():
        return 0.0
    diff = np.zeros(len(seq) + 1, dtype=np.int64)
    starts = np.flatnonzero(repeated)
    np.add.at(diff, starts, 1)
    np.add.at(diff, starts + n, -1)
    covered = np.cumsum(diff[:-1]) > 0
    if lengths is None:
        return float(covered.sum()) / len(seq)
    return float(lengths[covered].sum()) / float(lengths.sum())


def repetition_ratio(seq: np.ndarray, n: int) -> float:
    """Share of n-gram occurrences that belong to an n-gram seen more than once (BigScience word rule)."""
    h = ngram_hashes(seq, n)
    if len(h) == 0:
        return 0.0
    _, counts = np.unique(h, return_counts=True)
    return float(counts[counts > 1].sum()) / len(h)


def top_sqrt_repetition_ratio(seq: np.ndarray, n: int) -> float:
    """BigScience/HojiChar character repetition: occurrences of the top sqrt(#distinct) repeated
    n-grams over all n-gram occurrences."""
    h = ngram_hashes(seq, n)
    if len(h) == 0:
        return 0.0
    _, counts = np.unique(h, return_counts=True)
    counts = np.sort(counts)[::-1]
    k = min(int(np.sqrt(len(counts))), int((counts > 1).sum()))
    return float(counts[:k].sum()) / float(counts.sum())


def longest_run(seq: np.ndarray) -> int:
    """Length of the longest run of one repeated item (HojiChar SingleCharacterRepetitionFilter)."""
    if len(seq) == 0:
        return 0
    cuts = np.flatnonzero(seq[1:] != seq[:-1])
    bounds = np.concatenate(([-1], cuts, [len(seq) - 1]))
    return int(np.diff(bounds).max())
