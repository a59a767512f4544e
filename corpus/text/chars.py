"""Character classes of Japanese text, counted once and shared by the character-level rules.

Counting is a table lookup over the text's code points (numpy), not a regular expression or a
Python loop per character: the quality stage must cost little next to MeCab, and these counts
run on every document, rejected or not.
"""

from __future__ import annotations

import numpy as np

#: Class codes in ``_CLASS`` (low 2 bits) and the letter flag (``str.isalpha``).
_OTHER, _HIRAGANA, _KATAKANA, _KANJI = 0, 1, 2, 3
_ALPHA = 4
#: Ranges of each class (inclusive). Kanji: 々, 〇, CJK unified ideographs + extension A, compatibility ideographs.
RANGES: dict[int, tuple[tuple[int, int], ...]] = {
    _HIRAGANA: ((0x3041, 0x3096),),
    _KATAKANA: ((0x30A1, 0x30FA), (0x30FC, 0x30FC)),
    _KANJI: ((0x3005, 0x3005), (0x3007, 0x3007), (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0xF900, 0xFAFF)),
}
_BMP = 0x10000


def _class_table() -> np.ndarray:
    table = np.zeros(_BMP, dtype=np.uint8)
    for code, ranges in RANGES.items():
        for lo, hi in ranges:
            table[lo : hi + 1] = code
    alpha = np.fromiter((chr(c).isalpha() for c in range(_BMP)), dtype=bool, count=_BMP)
    table[alpha] |= _ALPHA
    return table


_CLASS = _class_table()


def codepoints(text: str) -> np.ndarray:
    """The text as an array of Unicode code points (uint32)."""
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4")


def char_class_counts(text: str | np.ndarray) -> dict[str, int]:
    """Counts of hiragana, katakana, kanji (Japanese letters are their sum) and of all letters.

    ``letters`` counts what ``str.isalpha`` accepts. Accepts the text or its code points.
    """
    cps = codepoints(text) if isinstance(text, str) else text
    bmp = cps[cps < _BMP]
    codes = _CLASS[bmp]
    hist = np.bincount(codes & 3, minlength=4)
    letters = int(np.count_nonzero(codes & _ALPHA))
    if len(bmp) < len(cps):  # astral letters (rare: emoji are not letters, extension-B kanji are)
        letters += sum(chr(c).isalpha() for c in cps[cps >= _BMP].tolist())
    hira, kata, kanji = int(hist[_HIRAGANA]), int(hist[_KATAKANA]), int(hist[_KANJI])
    return {"hiragana": hira, "katakana": kata, "kanji": kanji, "japanese": hira + kata + kanji, "letters": letters}
