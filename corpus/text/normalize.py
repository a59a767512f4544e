"""Unicode normalisation and whitespace clean-up for Japanese text.

NFKC folds full-width ASCII and half-width katakana into one form, which dedup and rules need.
Never NFD-and-strip-marks: that erases dakuten (データ would become テータ).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

NormalForm = Literal["NFKC", "NFC", "none"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200c\u200d\u2060\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f]+")
_BLANK_LINES = re.compile(r"\n{3,}")


#: Full-width comma/period used as Japanese punctuation (academic and some official styles).
_JA_PUNCT = str.maketrans({"，": "、", "．": "。"})


def normalize_text(text: str, form: NormalForm = "NFKC", japanese_punctuation: bool = False) -> str:
    """Normalise ``text``: Unicode form, control characters out, spaces folded, lines trimmed.

    Ideographic spaces (U+3000) survive NFC but NFKC turns them into ASCII spaces; either way runs
    of spaces collapse to one. Line breaks are kept (sentence and line rules need them).
    ``japanese_punctuation`` rewrites ，．to 、。 first (Swallow v1 modify.py does the same): NFKC
    would turn them into ASCII , and . which are not sentence ends for the sentence rules.
    """
    if japanese_punctuation:
        text = text.translate(_JA_PUNCT)
    if form != "none":
        text = unicodedata.normalize(form, text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
