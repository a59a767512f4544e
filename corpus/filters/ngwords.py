"""NG (blocked) words matched on morpheme boundaries.

Substring matching flags innocent words that contain a short NG word (HojiChar's own docstring
admits アスパラガス as a false positive of its katakana matching). Here both the NG words and the
document go through the same MeCab analysis, and a hit is a run of whole morphemes equal to an
NG word's morphemes: ガス never matches inside アスパラガス, which MeCab reads as one word.
Word lists are data under ``filters/ngwords/*.txt`` (origin and licence in its README).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import compress
from pathlib import Path

from corpus.resources import filters_dir
from corpus.text.morphology import surfaces

_END = ""  # trie key marking the end of an NG word


class NgWordMatcher:
    """A trie over morpheme sequences of the NG words."""

    def __init__(self, words: Iterable[str]):
        self.trie: dict = {}
        self.words: list[str] = []
        for w in words:
            w = unicodedata.normalize("NFKC", w)  # documents are NFKC too
            toks = surfaces(w)
            if not toks:
                continue
            node = self.trie
            for t in toks:
                node = node.setdefault(t, {})
            node[_END] = w
            self.words.append(w)

    def find(self, morphemes: Sequence[str]) -> list[tuple[int, str]]:
        """(morpheme index, NG word) of every longest non-overlapping hit.

        Only positions holding the first morpheme of some NG word are walked, and those are found
        by a C-level scan (``compress``): a document is usually a million morphemes and no hit.
        """
        hits: list[tuple[int, str]] = []
        n, end = len(morphemes), 0
        for i in compress(range(n), map(self.trie.__contains__, morphemes)):
            if i < end:  # inside the previous hit
                continue
            node, j, best = self.trie, i, None
            while j < n and morphemes[j] in node:
                node = node[morphemes[j]]
                j += 1
                if _END in node:
                    best = (j, node[_END])
            if best:
                hits.append((i, best[1]))
                end = best[0]
        return hits

    def match(self, morphemes: Sequence[str]) -> tuple[int, int]:
        """Number of hits and the characters they cover."""
        hits = self.find(morphemes)
        return len(hits), sum(len(w) for _, w in hits)


def read_word_list(path: Path) -> list[str]:
    """One word per line; blank lines and ``#`` comments are ignored."""
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            words.append(line)
    return words


def ngword_files() -> list[Path]:
    return sorted((filters_dir() / "ngwords").glob("*.txt"))


@lru_cache(maxsize=1)
def default_matcher() -> NgWordMatcher:
    """All lists under filters/ngwords/, built once per process."""
    return NgWordMatcher(w for f in ngword_files() for w in read_word_list(f))
