"""Shingles for near-duplicate detection, hashed once to 32-bit integers.

Character n-grams of the NFKC text (whitespace removed, so re-wrapped lines and indentation do not
count as edits) are the default, as in Swallow and HojiChar. The hashes are computed for all
windows at once with numpy: a polynomial over the code points (wrapping mod 2^64) followed by the
splitmix64 finaliser, keeping the top 32 bits. ``shingle_hash`` is the same function for one
shingle, so datasketch can be handed it as ``hashfunc`` and produce bit-identical signatures.
Morpheme n-grams (fugashi + unidic-lite) are the alternative for text where characters are too
fine a unit; they are hashed per n-gram (slower, but the tagger dominates anyway).
"""

from __future__ import annotations

import unicodedata

import numpy as np

from corpus.text.chars import codepoints

_POLY = np.uint64(0x100000001B3)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_MASK64 = (1 << 64) - 1


def shingle_text(text: str) -> str:
    """The text shingles are taken from: NFKC, whitespace removed.

    Pipeline text is normally NFKC already; the quick check skips the costly re-normalisation.
    """
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return "".join(text.split())


def char_shingle_hashes(text: str, n: int = 5) -> np.ndarray:
    """32-bit hashes of every character n-gram of ``shingle_text(text)`` (duplicates kept).

    A text shorter than ``n`` is one shingle; an empty text has none.
    """
    cps = codepoints(shingle_text(text)).astype(np.uint64)
    width = min(n, len(cps))
    if width == 0:
        return np.empty(0, dtype=np.uint32)
    windows = len(cps) - width + 1
    h = cps[:windows].copy()
    with np.errstate(over="ignore"):
        for k in range(1, width):  # in place: no temporaries per step
            h *= _POLY
            h += cps[k : k + windows]
        h ^= h >> np.uint64(30)
        h *= _M1
        h ^= h >> np.uint64(27)
        h *= _M2
        h ^= h >> np.uint64(31)
    return (h >> np.uint64(32)).astype(np.uint32)


def char_shingles(text: str, n: int = 5) -> list[bytes]:
    """The shingles themselves (UTF-32-LE bytes), for datasketch and for exact Jaccard in tests."""
    t = shingle_text(text)
    width = min(n, len(t))
    if width == 0:
        return []
    return [t[i : i + width].encode("utf-32-le") for i in range(len(t) - width + 1)]


def shingle_hash(shingle: bytes) -> int:
    """The hash of one UTF-32-LE shingle; equal to what ``char_shingle_hashes`` computes for it."""
    h = 0
    for cp in np.frombuffer(shingle, dtype="<u4").tolist():
        h = (h * 0x100000001B3 + cp) & _MASK64
    h ^= h >> 30
    h = (h * 0xBF58476D1CE4E5B9) & _MASK64
    h ^= h >> 27
    h = (h * 0x94D049BB133111EB) & _MASK64
    h ^= h >> 31
    return h >> 32


class MorphemeShingler:
    """Morpheme n-grams via fugashi (unidic-lite); the tagger is built lazily, once per process."""

    def __init__(self, n: int = 3):
        self.n = n
        self._tagger = None

    def shingles(self, text: str) -> list[bytes]:
        if self._tagger is None:
            import fugashi

            self._tagger = fugashi.Tagger()
        words = [w.surface for w in self._tagger(unicodedata.normalize("NFKC", text)) if w.surface.strip()]
        width = min(self.n, len(words))
        if width == 0:
            return []
        return ["\x1f".join(words[i : i + width]).encode("utf-32-le") for i in range(len(words) - width + 1)]

    def hashes(self, text: str) -> np.ndarray:
        return np.array([shingle_hash(s) for s in self.shingles(text)], dtype=np.uint32)
