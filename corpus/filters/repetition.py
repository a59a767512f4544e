"""Repetition measures over characters or words, vectorised with numpy.

The public corpora define these in Python loops over n-gram strings (datatrove's Gopher filter,
Swallow's quality.py, BigScience/HojiChar). Done that way, the character n-gram checks alone cost
more than parsing the text with MeCab; here n-grams are 64-bit polynomial hashes of integer
sequences (code points, or word ids), so every measure is a few numpy passes. A hash collision
could only merge two n-grams, with odds near 2**-64 per pair.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

_BASE = np.uint64(1_000_003)


def ngram_hashes(seq: np.ndarray, n: int) -> np.ndarray:
    """Hash of every length-``n`` window of integer sequence ``seq`` (empty if shorter than ``n``)."""
    m = len(seq) - n + 1
    if m <= 0:
        return np.empty(0, dtype=np.uint64)
    seq = seq.astype(np.uint64, copy=False)
    h = np.zeros(m, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * _BASE + seq[k : k + m] + np.uint64(1)
    return h


def ngram_hash_series(seq: np.ndarray, ns: range) -> Iterator[tuple[int, np.ndarray]]:
    """``(n, ngram_hashes(seq, n))`` for consecutive ``ns``, each from the previous in one pass.

    The hash of an (n+1)-gram is the n-gram's hash times the base plus the next item, so a family
    of signals over 5- to 10-grams costs six passes, not 45.
    """
    seq = seq.astype(np.uint64, copy=False)
    h = ngram_hashes(seq, ns.start)
    for n in ns:
        if n > ns.start:
            m = len(seq) - n + 1
            if m <= 0:
                h = np.empty(0, dtype=np.uint64)
            else:
                with np.errstate(over="ignore"):
                    h = h[:m] * _BASE + seq[n - 1 : n - 1 + m] + np.uint64(1)
        yield n, h


def _window_sums(lengths: np.ndarray, n: int) -> np.ndarray:
    c = np.concatenate(([0], np.cumsum(lengths)))
    return c[n:] - c[:-n]


def _runs(sorted_h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start index and length of each run of equal values in a sorted array (one run per n-gram)."""
    starts = np.flatnonzero(np.concatenate(([True], sorted_h[1:] != sorted_h[:-1])))
    return starts, np.diff(np.append(starts, len(sorted_h)))


def top_ngram_fraction(seq: np.ndarray, n: int, lengths: np.ndarray | None = None, hashes: np.ndarray | None = None) -> float:
    """Characters covered by the most frequent n-gram (count x its length) over all characters.

    As datatrove's Gopher ``find_top_duplicate`` / Swallow's top-n-gram check. ``lengths`` gives
    the characters of each item (words); characters are length 1. Ties go to the n-gram with the
    smallest hash, so the value does not depend on arrival order. ``hashes``: ``ngram_hashes(seq, n)``
    when the caller has them already.
    """
    h = ngram_hashes(seq, n) if hashes is None else hashes
    total = float(len(seq) if lengths is None else lengths.sum())
    if len(h) == 0 or total == 0:
        return 0.0
    s = np.sort(h)
    starts, counts = _runs(s)
    best = int(np.argmax(counts))
    if counts[best] < 2:
        return 0.0
    if lengths is None:
        size = n
    else:
        first = int(np.argmax(h == s[starts[best]]))
        size = int(_window_sums(lengths, n)[first])
    return float(counts[best]) * size / total


def duplicate_ngram_fraction(seq: np.ndarray, n: int, lengths: np.ndarray | None = None, hashes: np.ndarray | None = None) -> float:
    """Share of characters inside an n-gram that already occurred earlier in the text.

    The Gopher definition (characters in duplicated n-grams, first occurrences not counted),
    measured as the union of the repeated windows so overlapping repeats are not counted twice.
    """
    h = ngram_hashes(seq, n) if hashes is None else hashes
    if len(h) == 0:
        return 0.0
    order = np.argsort(h, kind="stable")  # stable: the first of each run is the earliest occurrence
    s = h[order]
    later = np.concatenate(([False], s[1:] == s[:-1]))
    if not later.any():
        return 0.0
    starts = order[later]
    diff = np.zeros(len(seq) + 1, dtype=np.int64)
    np.add.at(diff, starts, 1)
    np.add.at(diff, starts + n, -1)
    covered = np.cumsum(diff[:-1]) > 0
    if lengths is None:
        return float(covered.sum()) / len(seq)
    return float(lengths[covered].sum()) / float(lengths.sum())


def ngram_counts(seq: np.ndarray, n: int) -> np.ndarray:
    """How often each distinct n-gram of ``seq`` occurs (in hash order)."""
    h = ngram_hashes(seq, n)
    return _runs(np.sort(h))[1] if len(h) else np.empty(0, dtype=np.int64)


def repetition_ratio(seq: np.ndarray, n: int) -> float:
    """Share of n-gram occurrences that belong to an n-gram seen more than once (BigScience word rule)."""
    counts = ngram_counts(seq, n)
    if len(counts) == 0:
        return 0.0
    return float(counts[counts > 1].sum()) / float(counts.sum())


def top_sqrt_repetition_ratio(seq: np.ndarray, n: int) -> float:
    """BigScience/HojiChar character repetition: occurrences of the top sqrt(#distinct) repeated
    n-grams over all n-gram occurrences."""
    counts = ngram_counts(seq, n)
    if len(counts) == 0:
        return 0.0
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
