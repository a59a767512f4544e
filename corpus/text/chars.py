"""Character classes of Japanese text, counted once and shared by the character-level rules."""

from __future__ import annotations

import re

HIRAGANA = re.compile(r"[\u3041-\u3096]")
KATAKANA = re.compile(r"[\u30a1-\u30fa\u30fc]")
KANJI = re.compile(r"[\u3005\u3007\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff]")


def char_class_counts(text: str) -> dict[str, int]:
    """Counts of hiragana, katakana and kanji; Japanese letters are their sum."""
    hira = len(HIRAGANA.findall(text))
    kata = len(KATAKANA.findall(text))
    kanji = len(KANJI.findall(text))
    return {"hiragana": hira, "katakana": kata, "kanji": kanji, "japanese": hira + kata + kanji}
