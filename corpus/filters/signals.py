"""Character-level quality signals. Each maps text to one number; results are kept as columns.

Signals are registered by name so profiles (data files) can refer to them, and so a signal is
computed once however many rules read it. Signals in one family share one pass over the text.
"""

from __future__ import annotations

from collections.abc import Callable

from corpus.text.chars import char_class_counts

SignalFn = Callable[[str], dict[str, float]]

#: signal name -> the family function that computes it (and its siblings) in one pass.
_FAMILY: dict[str, SignalFn] = {}


def _register(names: tuple[str, ...], fn: SignalFn) -> None:
    for n in names:
        _FAMILY[n] = fn


def _char_signals(text: str) -> dict[str, float]:
    counts = char_class_counts(text)
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


_register(
    ("n_chars", "japanese_chars", "japanese_fraction", "hiragana_fraction", "katakana_fraction"),
    _char_signals,
)


def known_signals() -> list[str]:
    return sorted(_FAMILY)


def compute_signals(text: str, names: list[str]) -> dict[str, float]:
    """Values of the named signals; each family runs at most once."""
    out: dict[str, float] = {}
    for name in names:
        if name in out:
            continue
        out.update(_FAMILY[name](text))
    return {n: out[n] for n in names}
