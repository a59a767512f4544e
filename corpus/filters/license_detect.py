"""Licence signals on one page's raw HTML, each with the rule that fired and the matched snippet.

Detection runs on the HTML before extraction because the signals live where extraction throws
text away: ``<link rel="license">`` in the head, Creative Commons badges, and the footer that says
無断転載を禁じます. Script and style bodies are ignored (note.com pages carry the whole article again
as escaped JSON). Signals are evidence, not a verdict: corpus/filters/license.py decides.

Kinds of signal:
- ``grant``: the page states a licence (rel=license, CC URL, 政府標準利用規約/PDL1.0 declaration).
- ``restrict``: the page forbids reuse (無断転載禁止, All rights reserved, CC NC/ND).
- ``attribution``: the page asks for a 出典 line (recorded for ATTRIBUTION.md; grants nothing).
A mere mention of 政府標準利用規約 in running text (an article *about* the terms) is not a grant.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass

#: Creative Commons URL -> licence id (version captured separately).
CC_URL = re.compile(
    r"creativecommons\.org/(?:licenses/(?P<type>by-nc-sa|by-nc-nd|by-sa|by-nc|by-nd|by)"
    r"(?:/(?P<ver>\d\.\d))?|publicdomain/(?P<pd>zero|mark)(?:/(?P<pdver>\d\.\d))?)",
    re.I,
)
LINK_REL = re.compile(r"<(?:a|link)\b[^>]*\brel\s*=\s*[\"']?[^\"'>]*\blicense\b[^>]*>", re.I)
HREF = re.compile(r"\bhref\s*=\s*[\"']?([^\"'\s>]+)", re.I)
SCRIPT_STYLE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.I | re.S)
TAG = re.compile(r"<[^>]+>")
FOOTER = re.compile(r"<footer\b.*?</footer\s*>", re.I | re.S)
BODY = re.compile(r"<body\b", re.I)
JA_SPACE = re.compile(r"(?<=[^\x00-\x7f]) +| +(?=[^\x00-\x7f])")

#: Text rules on NFKC-normalised visible text: (rule id, kind, licence id, pattern).
TEXT_RULES: list[tuple[str, str, str | None, re.Pattern[str]]] = [
    ("gstu_declared", "grant", "LicenseRef-JP-GSTU-2.0",
     re.compile(r"政府標準利用規約\(第2\.0版\)(?:に準拠|に従|に基づ|により|の下|を適用|で提供|が適用)|"
                r"政府標準利用規約(?:\(第2\.0版\))?(?:に準拠|に従って|に基づき|により利用|を適用)")),
    ("pdl_declared", "grant", "LicenseRef-JP-PDL-1.0",
     re.compile(r"公共データ利用規約\(第1\.0版\)|公共データ利用規約(?:に準拠|に従|に基づ|により|を適用)|\bPDL\s?1\.0\b")),
    ("cc_text", "grant", None,
     re.compile(r"\bCC[\s-]?(BY(?:[\s-](?:SA|NC|ND))*)[\s-]?(4\.0|3\.0|2\.1)|クリエイティブ・?コモンズ[^。]{0,12}表示\s?(4\.0)", re.I)),
    ("no_reproduction", "restrict", "LicenseRef-AllRightsReserved",
     re.compile(r"無断(?:で)?(?:転載|複製|転用|使用)[^。]{0,12}(?:禁じ|禁止|お断り|できません)|"
                r"(?:転載|複製)(?:・(?:転載|複製|転用))*(?:を)?(?:禁止|禁ず|禁じ)")),
    ("all_rights_reserved", "restrict", "LicenseRef-AllRightsReserved", re.compile(r"all\s+rights\s+reserved", re.I)),
    ("attribution_required", "attribution", None, re.compile(r"出典を(?:記載|明記|明示|表示)|出典[:：][^\n]{1,60}")),
]

SNIPPET = 200


@dataclass(frozen=True)
class Signal:
    """One piece of evidence: which rule fired, what it means, and the text it matched."""

    rule: str
    kind: str  # grant | restrict | attribution
    license: str | None
    method: str  # link_rel | cc_url | text
    location: str  # head | footer | body
    snippet: str

    def to_dict(self) -> dict:
        return asdict(self)


def cc_license_id(m: re.Match[str]) -> str:
    """SPDX id for a Creative Commons URL match (version defaults to 4.0 when the URL omits it)."""
    if m.group("pd"):
        return "CC0-1.0" if m.group("pd").lower() == "zero" else "LicenseRef-PublicDomainMark"
    return f"CC-{m.group('type').upper()}-{m.group('ver') or '4.0'}"


def _snippet(text: str, start: int, end: int) -> str:
    lo = max(0, start - 40)
    return re.sub(r"\s+", " ", text[lo:end + 40]).strip()[:SNIPPET]


def _visible(html: str) -> str:
    """Tag-free NFKC text; whitespace next to Japanese is dropped (markup splits 規約</a>に準拠)."""
    text = unicodedata.normalize("NFKC", re.sub(r"[ \t\r\f\v]+", " ", TAG.sub(" ", html)))
    return JA_SPACE.sub("", text)


def _location(html: str, pos: int, footer_spans: list[tuple[int, int]], body_at: int) -> str:
    if body_at >= 0 and pos < body_at:
        return "head"
    if any(a <= pos < b for a, b in footer_spans) or pos >= len(html) * 0.85:
        return "footer"
    return "body"


def detect(html: str) -> list[Signal]:
    """Every licence signal on the page, head first, in document order within each method."""
    html = SCRIPT_STYLE.sub(lambda m: " " * len(m.group(0)), html)  # keep offsets for locations
    footers = [(m.start(), m.end()) for m in FOOTER.finditer(html)]
    body = BODY.search(html)
    body_at = body.start() if body else -1
    signals: list[Signal] = []
    seen: set[tuple[str, str | None, str]] = set()

    def add(sig: Signal) -> None:
        key = (sig.rule, sig.license, sig.location)
        if key not in seen:
            seen.add(key)
            signals.append(sig)

    for m in LINK_REL.finditer(html):
        href = HREF.search(m.group(0))
        cc = CC_URL.search(href.group(1)) if href else None
        lic = cc_license_id(cc) if cc else None
        add(Signal("link_rel_license", "grant", lic, "link_rel", _location(html, m.start(), footers, body_at), m.group(0)[:SNIPPET]))
    for m in CC_URL.finditer(html):
        add(Signal("cc_url", "grant", cc_license_id(m), "cc_url", _location(html, m.start(), footers, body_at), _snippet(html, m.start(), m.end())))
    # Visible text per region, so a footer notice is told apart from an article quoting it.
    regions = [("head", html[:body_at])] if body_at > 0 else []
    rest = FOOTER.sub(lambda m: " " * len(m.group(0)), html[max(body_at, 0):])
    cut = int(len(rest) * 0.85)
    foot_text = " ".join(html[a:b] for a, b in footers)
    regions += [("body", rest[:cut]), ("footer", foot_text + " " + rest[cut:])]
    for where, part in regions:
        text = _visible(part)
        for rule, kind, lic, pattern in TEXT_RULES:
            for m in pattern.finditer(text):
                found = lic
                if rule == "cc_text":
                    kind_part = (m.group(1) or "BY").upper().replace(" ", "-")
                    found = f"CC-{kind_part}-{m.group(2) or m.group(3)}"
                add(Signal(rule, kind, found, "text", where, _snippet(text, m.start(), m.end())))
    for s in list(signals):
        if s.kind == "grant" and s.license and re.search(r"-(NC|ND)-", s.license):
            signals.append(Signal(s.rule + "_restriction", "restrict", s.license, s.method, s.location, s.snippet))
    return signals


def recheck(evidence: dict) -> bool:
    """Does a stored page signal still hold: its snippet matches its rule and gives its licence?

    ``corpus audit`` runs this on every decisive page signal, so an edited evidence string or
    licence id is caught without the raw page. Snippets are cut at 200 characters, so a snippet
    that starts mid-match is checked for the rule's licence keyword only.
    """
    rule, snippet, lic = evidence.get("rule"), evidence.get("snippet") or "", evidence.get("license")
    if rule in ("link_rel_license", "cc_url"):
        m = CC_URL.search(snippet)
        return bool(m) and cc_license_id(m) == lic
    for rid, _kind, rlic, pattern in TEXT_RULES:
        if rid == rule:
            m = pattern.search(snippet)
            if m is None:
                return False
            if rid == "cc_text":
                return f"CC-{(m.group(1) or 'BY').upper().replace(' ', '-')}-{m.group(2) or m.group(3)}" == lic
            return rlic == lic
    return True  # registry and bulk-terms evidence are checked against the registry, not a pattern
