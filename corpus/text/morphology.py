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

#: MeCab output for ``parse``: surface TAB pos1 TAB per morpheme between two markers. Surfaces never
#: hold a tab (MeCab reads it as white space), and the markers keep fugashi's strip() of the output
#: away from a leading or trailing ideographic-space morpheme. unidic-lite's dicrc sets
#: ``output-format-type = unidic``, which overrides any node format until it is cleared. Backslashes
#: are doubled because fugashi splits the argument string shell-style.
_LEAN_FORMAT = (
    r"--output-format-type= --node-format=%m\\t%f[0]\\t --unk-format=%m\\t%f[0]\\t"
    r" --bos-format=[\\t --eos-format=]"
)

_LEAN_TAGGER: Any = None


def lean_tagger() -> Any:
    """The process-wide tagger: unidic-lite, MeCab printing only surface and part of speech."""
    global _LEAN_TAGGER
    if _LEAN_TAGGER is None:
        import fugashi
        import unidic_lite

        _LEAN_TAGGER = fugashi.GenericTagger(f'-r /dev/null -d "{unidic_lite.DICDIR}" {_LEAN_FORMAT}')
    return _LEAN_TAGGER


@dataclass(frozen=True)
class Morphemes:
    """Surfaces and coarse parts of speech (UniDic ``pos1``) of a text, in order (read-only by convention:
    lists, not tuples, because copying a million-morpheme list into a tuple is measurable)."""

    surfaces: list[str]
    pos: list[str]

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

    MeCab prints only surface and UniDic ``pos1`` (see ``_LEAN_FORMAT``), and the output is cut
    with one ``str.split``: iterating fugashi node objects, or splitting MeCab's full feature
    lines, costs more than the parse itself.
    """
    t = lean_tagger()
    chunks = _chunks(text)
    if len(chunks) == 1:  # the usual case: one slice per list, no concatenation copies
        flat = t.parse(chunks[0]).split("\t")  # "[", surface, pos, ..., surface, pos, "]"
        return Morphemes(flat[1:-1:2], flat[2:-1:2])
    surfaces: list[str] = []
    pos: list[str] = []
    for chunk in chunks:
        flat = t.parse(chunk).split("\t")
        surfaces += flat[1:-1:2]
        pos += flat[2:-1:2]
    return Morphemes(surfaces, pos)


def surfaces(text: str) -> list[str]:
    """Surfaces only (NG-word lists are tokenised with the same analyser as documents)."""
    return parse(text).surfaces
