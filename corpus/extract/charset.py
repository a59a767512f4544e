"""Decode page bytes into text, Japanese-aware, and say which evidence decided the encoding.

Order of evidence: byte-order mark, then the HTTP Content-Type charset, then a <meta> charset,
then detection among the encodings Japanese government sites actually use. A declared charset
that does not decode cleanly is not trusted blindly: detection gets a say, and the evidence
string records both. Shift_JIS labels are decoded as CP932 because real pages labelled
Shift_JIS carry CP932 extensions (①, ㈱, ～) that strict Shift_JIS would lose.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

#: Label (lower case) -> Python codec. Anything not listed goes through codecs.lookup.
CODEC_ALIASES: dict[str, str] = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "csshiftjis": "cp932",
    "windows-31j": "cp932",
    "cp932": "cp932",
    "euc-jp": "euc_jp",
    "x-euc-jp": "euc_jp",
    "eucjp": "euc_jp",
    "cseucpkdfmtjapanese": "euc_jp",
    "iso-2022-jp": "iso2022_jp_ext",
    "csiso2022jp": "iso2022_jp_ext",
    "utf8": "utf-8",
    "utf-8": "utf-8",
}

#: Detection candidates, in the order ties are broken.
DETECT_ORDER = ("utf-8", "cp932", "euc_jp", "iso2022_jp_ext")

#: If a strict decode fails, these codecs are retried before falling back to replacement.
FALLBACKS = {"euc_jp": "euc_jis_2004", "cp932": "shift_jis_2004"}

BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)
JAPANESE = re.compile(r"[\u3041-\u3096\u30a1-\u30fa\u4e00-\u9fff\u3005\u30fc]")

#: Share of replacement characters above which a decode is judged to have failed.
MAX_REPLACEMENT_FRACTION = 0.01


class DecodeError(ValueError):
    """The bytes are not text in any encoding we accept (binary, or hopelessly mixed)."""


@dataclass(frozen=True)
class Decoded:
    text: str
    charset: str  # the Python codec used
    evidence: str  # e.g. "http:shift_jis", "meta:euc-jp", "bom:utf-8-sig", "detected"


def codec_for(label: str | None) -> str | None:
    """The Python codec for a charset label, or None for labels Python does not know."""
    if not label:
        return None
    label = label.strip().lower()
    if label in CODEC_ALIASES:
        return CODEC_ALIASES[label]
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def looks_binary(data: bytes, sample: int = 8192) -> bool:
    """True for bytes that are no text encoding we read: NULs or many C0 control bytes.

    ESC (0x1b) is allowed because ISO-2022-JP uses it for shifts.
    """
    head = data[:sample]
    if not head:
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 0x20 and b not in (0x09, 0x0A, 0x0D, 0x0C, 0x1B))
    return controls / len(head) > 0.05


def meta_charset(data: bytes) -> str | None:
    m = META_CHARSET.search(data[:8192])
    return m.group(1).decode("ascii", "ignore").lower() if m else None


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _decode_declared(data: bytes, codec: str) -> tuple[str, str] | None:
    text = _strict(data, codec)
    if text is not None:
        return text, codec
    alt = FALLBACKS.get(codec)
    if alt and (text := _strict(data, alt)) is not None:
        return text, alt
    return None


def detect(data: bytes) -> tuple[str, str] | None:
    """Best strict decode among Japanese encodings, scored by the share of Japanese letters."""
    best: tuple[float, int, str, str] | None = None
    for rank, codec in enumerate(DETECT_ORDER):
        text = _decode_declared(data, codec)
        if text is None:
            continue
        sample = text[0][:20000]
        score = len(JAPANESE.findall(sample)) / max(1, len(sample))
        key = (score, -rank, text[1], text[0])
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None:
        return None
    return best[3], best[2]


def decode_bytes(data: bytes, http_charset: str | None = None) -> Decoded:
    """Decode page bytes; raise DecodeError for binary or undecodable content."""
    for bom, codec in BOMS:
        if data.startswith(bom):
            return Decoded(data.decode(codec, errors="replace"), codec, f"bom:{codec}")
    if looks_binary(data):
        raise DecodeError("binary content (NUL or control bytes)")
    notes: list[str] = []
    for kind, label in (("http", http_charset), ("meta", meta_charset(data))):
        if not label:
            continue
        codec = codec_for(label)
        if codec is None:
            notes.append(f"{kind}:{label}(unknown)")
            continue
        decoded = _decode_declared(data, codec)
        if decoded is not None:
            return Decoded(decoded[0], decoded[1], ";".join([*notes, f"{kind}:{label}"]))
        notes.append(f"{kind}:{label}(failed)")
    found = detect(data)
    if found is not None:
        return Decoded(found[0], found[1], ";".join([*notes, "detected"]))
    # Nothing decodes strictly: accept a lossy decode only if the damage is tiny.
    guess = codec_for(http_charset) or codec_for(meta_charset(data)) or "utf-8"
    text = data.decode(guess, errors="replace")
    bad = text.count("\ufffd") / max(1, len(text))
    if bad > MAX_REPLACEMENT_FRACTION:
        raise DecodeError(f"undecodable: {bad:.1%} replacement characters as {guess}")
    return Decoded(text, guess, ";".join([*notes, f"lossy:{guess}"]))
