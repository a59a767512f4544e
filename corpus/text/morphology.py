"""Morphological analysis with fugashi + unidic-lite: the one place that parses Japanese.

Parsing is the costliest step of the quality stage (about 1 M characters a second a core), so a
document is parsed at most once and every morphology signal reads the same ``Morphemes``. The
tagger is created lazily per process (it is not picklable, and Ray ships stages to workers).
Long texts are parsed line by line in chunks: MeCab's lattice grows with input length, and a
line break is never inside a word.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Largest piece handed to MeCab at once (HojiChar parses in 100k-character chunks too).
CHUNK_CHARS = 100_000

_TAGGER: Any = None


def tagger() -> Any:
    """The process-wide fugashi tagger (unidic-lite dictionary)."""
    global _TAGGER
    if _TAGGER is None:
        import fugashi

        _TAGGER = fugashi.Tagger()
    return _TAGGER


@dataclass(frozen=True)
class Morphemes:
    """Surfaces and coarse parts of speech (UniDic ``pos1``) of a text, in order."""

    surfaces: tuple[str, ...]
    pos: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.surfaces)


def _chunks(text: str, size: int = CHUNK_CHARS) -> list[str]:
    if len(text) <= size:
        return [text]
    out: list[str] = []
    current: list[str] = []
    n = 0
    for line in text.split("\n"):
        while len(line) > size:  # one giant line: cut it, a word may split at the cut
            out.append(line[:size])
            line = line[size:]
        if n + len(line) > size and current:
            out.append("\n".join(current))
            current, n = [], 0
        current.append(line)
        n += len(line) + 1
    if current:
        out.append("\n".join(current))
    return out


def parse(text: str) -> Morphemes:
    """Morphemes of ``text`` (whitespace is not a morpheme in MeCab's output).

    Reads MeCab's text output (surface, then features separated by tabs; UniDic's part of speech
    is the 5th field, ``名詞-普通名詞-一般``) instead of iterating fugashi node objects: building
    a feature tuple per node costs about twice the parse itself.
    """
    t = tagger()
    surfaces: list[str] = []
    pos: list[str] = []
    for chunk in _chunks(text):
        for line in t.parse(chunk).split("\n"):
            if not line or line == "EOS":
                continue
            fields = line.split("\t", 5)
            surfaces.append(fields[0])
            pos.append(fields[4].split("-", 1)[0] if len(fields) > 4 else "")
    return Morphemes(tuple(surfaces), tuple(pos))


def surfaces(text: str) -> list[str]:
    """Surfaces only (NG-word lists are tokenised with the same analyser as documents)."""
    return [w.surface for chunk in _chunks(text) for w in tagger()(chunk)]
