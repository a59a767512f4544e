"""Licence signals on one page's raw HTML, each with the rule that fired and the matched snippet.

Detection runs on the HTML before extraction because the signals live where extraction throws
text away: ``<link rel="license">`` in the head, Creative Commons badges, and the footer that says
無断転載を禁じます. Script and style bodies are ignored (note.com pages carry the whole article again
as escaped JSON). Signals are evidence, not a verdict: corpus/filters/license.py decides.

Kinds of signal:
- ``grant``: the page states a licence (rel=license, CC URL, a declaration of 政府標準利用規約,
  公共データ利用規約 (PDL1.0) or a Creative Commons licence, in Japanese or English).
- ``restrict``: the page forbids or limits reuse (無断転載禁止, reuse only with permission, no
  redistribution, All rights reserved, CC NC/ND).
- ``attribution``: the page asks for a 出典 line (recorded for ATTRIBUTION.md; grants nothing).

A licence's *name* grants nothing by itself: a grant is the name followed by a verb that applies
it to the page (に準拠しています, が適用されています, の下に提供されています, により利用できます,
と互換性があり…に従うことでも利用することができます, …). An article about the terms, a 出典 line
crediting a quoted figure, or an app saying it *uses* government data (に準拠して利用しています)
names the licence without that verb, so it grants nothing. Measured on the labelled statements in
tests/data/license_statements.toml (docs/provenance.md).

Text is matched after one normalisation (:func:`normalise_text`): NFKC (full-width brackets,
digits and letters become ASCII), spaces next to Japanese dropped (markup and PDF layout split
「第 2.0 版」), 「」『』 and other quotes dropped, and the full stop that closes a parenthesis
(「(以下「PDL1.0」といいます。)」) dropped. Stored snippets are normalised text, so
:func:`recheck` re-runs the same patterns on them.
"""

from __future__ import annotations

import html as html_lib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass

#: Creative Commons URL -> licence id (version and jurisdiction port captured separately).
CC_URL = re.compile(
    r"creativecommons\.org/(?:licenses/(?P<type>by-nc-sa|by-nc-nd|by-sa|by-nc|by-nd|by)"
    r"(?:/(?P<ver>\d\.\d)(?:/(?P<port>[a-z]{2})(?=/|\b))?)?|publicdomain/(?P<pd>zero|mark)(?:/(?P<pdver>\d\.\d))?)",
    re.I,
)
LINK_REL = re.compile(r"<(?:a|link)\b[^>]*\brel\s*=\s*[\"']?[^\"'>]*\blicense\b[^>]*>", re.I)
HREF = re.compile(r"\bhref\s*=\s*[\"']?([^\"'\s>]+)", re.I)
SCRIPT_STYLE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.I | re.S)
TAG = re.compile(r"<[^>]+>")
#: Block-level tags end a line: a 出典 line in its own <p> is not the line of the licence after it.
BLOCK_TAG = re.compile(r"</?(?:p|div|br|li|dt|dd|tr|td|th|h[1-6]|ul|ol|table|section|article|footer|header|nav|aside|address|blockquote)\b[^>]*>", re.I)
FOOTER = re.compile(r"<footer\b.*?</footer\s*>", re.I | re.S)
BODY = re.compile(r"<body\b", re.I)
JA_SPACE = re.compile(r"(?<=[^\x00-\x7f]) +| +(?=[^\x00-\x7f])")
QUOTES = str.maketrans("", "", "「」『』【】〔〕\"“”‘’")

#: Creative Commons versions that exist, and the ports written as 日本 / jp.
CC_VERSIONS = ("1.0", "2.0", "2.1", "2.5", "3.0", "4.0")
CC_JP_PORTS = ("2.0", "2.1")
CC_PARTS = {"継承": "SA", "非営利": "NC", "改変禁止": "ND", "sharealike": "SA", "noncommercial": "NC",
            "noderivatives": "ND", "noderivs": "ND", "sa": "SA", "nc": "NC", "nd": "ND"}

# --- licence names (on normalised text) ----------------------------------------------------------
_VERSION = r"(?:\((?:第)?(?:ver\.?|version)?\d\.\d版?\)|第\d\.\d版|(?:ver\.?|version)\d\.\d)"
GSTU_NAME = rf"政府標準利用規約{_VERSION}?"
PDL_NAME = rf"(?:公共データ利用規約{_VERSION}?(?:\(PDL ?\d\.\d\))?|(?<![A-Za-z])PDL ?\d\.\d(?!\d))"
_CC_JA = (r"クリエイティブ・?コモンズ(?:・?ライセンス)?(?:\([^()]{0,40}\))?の?表示"
          r"(?:[-‐‑–—](?:継承|非営利|改変禁止))*(?:ライセンス)?\d\.\d(?:国際|日本|非移植)?(?:・?パブリック)?(?:・?ライセンス)?")
_CC_EN = (r"(?<![A-Za-z])CC[ -]?BY(?:[ -](?:SA|NC|ND))*[ -]?\d\.\d(?: International| Japan| Unported)?"
          r"|Creative ?Commons ?Attribution(?:[ -](?:NonCommercial|ShareAlike|NoDerivatives|NoDerivs))* ?\d\.\d"
          r"(?: International| Japan| Unported)?(?: (?:Public )?License)?")
CC_NAME = rf"(?:{_CC_JA}|{_CC_EN})"

# What may stand between a name and its verb: bracketed asides ((PDL1.0), (以下「CC BY」といいます。),
# (外部リンク), a URL in brackets) and a few characters of link text, never a sentence end.
GAP = r"(?:\([^()]{0,160}\)|[^。()\n]){0,30}?"
# Verbs that apply a named licence to this page's content.
APPLIES = (
    r"(?:に準拠(?:しています|しております|します|した(?:利用条件|利用ルール|条件))"
    r"|が適用され(?:ています|ます|る)|を適用(?:しています|します)"
    r"|(?:の下|のもと|の元)(?:に|で|、)[^。]{0,20}?(?:提供|公開|許諾)(?:され|し|いた)"
    r"|[にで](?:提供|公開)(?:されて|して)い(?:ます|る)"
    r"|により(?:利用|使用)(?:することが)?でき(?:ます|る)|によるものとします"
    r"|に(?:従って|従い|基づき|基づいて)[^。]{0,20}?(?:利用|複製|二次利用)(?:することが)?でき(?:ます|る)"
    r"|と互換性があり[^。]{0,80}?に従うことでも利用(?:することが)?でき(?:ます|る))"
)
# 「本利用ルールは、政府標準利用規約(第2.0版)に準拠し、…に定めたものです」: the weaker
# に準拠し counts only with this site's own terms or pages as its subject.
SELF_SUBJECT = r"(?:本|当)(?:利用ルール|利用規約|規約|ウェブサイト|Webサイト|サイト|ホームページ)(?:のコンテンツ)?は、?"
# Prefixes that declare a licence: 「ライセンス:CC BY 4.0」, "licensed under a Creative Commons ...".
LABELS = r"(?:(?:ライセンス|License|利用条件)[:：] ?|licensed under (?:the |a )?)"


def _declared(name: str) -> re.Pattern[str]:
    """A name applied to the page: NAME + verb, self-subject + NAME + に準拠し, or label + NAME."""
    return re.compile(
        rf"(?P<a>{name}){GAP}{APPLIES}|{SELF_SUBJECT}[^。]{{0,20}}?(?P<b>{name}){GAP}に準拠し[、,]|{LABELS}(?P<c>{name})",
        re.I,
    )


def _named(m: re.Match[str]) -> str:
    return m.group("a") or m.group("b") or m.group("c") or m.group(0)


def gstu_id(name: str) -> str | None:
    """政府標準利用規約: 第1.0版 is its own licence; 第2.0版 (or no version: sites since 2016) is 2.0."""
    ver = re.search(r"\d\.\d", name)
    if ver is None or ver.group() == "2.0":
        return "LicenseRef-JP-GSTU-2.0"
    return "LicenseRef-JP-GSTU-1.0" if ver.group() == "1.0" else None


def pdl_id(name: str) -> str | None:
    ver = re.search(r"\d\.\d", name)
    return "LicenseRef-JP-PDL-1.0" if ver is None or ver.group() == "1.0" else None


def cc_text_id(name: str) -> str | None:
    """SPDX id of a Creative Commons licence written out in text, or None for a version that does
    not exist (there is no CC BY 4.1 Japan) so that a typo never grants."""
    ver = re.search(r"\d\.\d", name)
    if ver is None or ver.group() not in CC_VERSIONS:
        return None
    parts = {CC_PARTS[p.lower()] for p in re.findall(r"継承|非営利|改変禁止|NonCommercial|ShareAlike|NoDerivatives|NoDerivs|(?<=[ -])(?:SA|NC|ND)\b", name, re.I)}
    kind = "-".join(["BY", *[p for p in ("NC", "SA", "ND") if p in parts]])
    if "ND" in parts and "SA" in parts:
        return None  # no such licence
    port = "-JP" if ver.group() in CC_JP_PORTS and re.search(r"日本|Japan", name) else ""
    if ver.group() == "2.1" and not port:
        return None  # 2.1 exists only as jurisdiction ports
    return f"CC-{kind}-{ver.group()}{port}"


@dataclass(frozen=True)
class TextRule:
    """One text rule: its id, kind, pattern, and the licence it gives (fixed, or read from the match)."""

    rule: str
    kind: str  # grant | restrict | attribution
    pattern: re.Pattern[str]
    license: str | None = None
    license_of: Callable[[str], str | None] | None = None
    #: substrings (of the lower-cased text) without which the pattern cannot match: most pages
    #: have none, and a substring test is far cheaper than the pattern (Dolma prefilters likewise)
    keywords: tuple[str, ...] = ()

    def may_match(self, lowered: str) -> bool:
        return not self.keywords or any(k in lowered for k in self.keywords)

    def license_for(self, m: re.Match[str]) -> str | None:
        return self.license_of(_named(m)) if self.license_of else self.license


ARR = "LicenseRef-AllRightsReserved"
_REUSE = r"(?:転載|複製|転用|使用|掲載|コピー|改変|配布|引用)"
TEXT_RULES: list[TextRule] = [
    TextRule("gstu_declared", "grant", _declared(GSTU_NAME), license_of=gstu_id, keywords=("政府標準利用規約",)),
    TextRule("pdl_declared", "grant", _declared(PDL_NAME), license_of=pdl_id, keywords=("公共データ利用規約", "pdl")),
    TextRule("cc_text", "grant", _declared(CC_NAME), license_of=cc_text_id,
             keywords=("クリエイティブ", "creative", "cc by", "cc-by", "ccby")),
    TextRule("no_reproduction", "restrict", re.compile(
        rf"無断(?:で)?{_REUSE}[^。]{{0,40}}?(?:禁じ|禁止|お断り|できません|でき(?:ない|かねます)|おやめ|侵害)"
        r"|禁無断転載|(?:転載|複製|再配布|転用)(?:[・、](?:転載|複製|転用|再配布))*(?:等)?(?:を|は)?"
        r"(?:禁止|禁じ|禁ず|お断り|認め(?:ず|ません|られません))"), ARR, keywords=("無断", "転載", "複製", "再配布", "転用")),
    TextRule("permission_required", "restrict", re.compile(
        r"(?:許諾|承諾|許可)(?:を(?:得ず|受けず)に?|を受けることなく|なく|なしに|なしで|無く)[^。]{0,80}?"
        r"(?:複製|複写|転載|転用|再利用|配布|配付|頒布|掲載|送信|出版|改変|翻案|コピー|利用)[^。]{0,60}?"
        r"(?:できません|できない|禁止|禁じ|侵害|触れる|なりません|違反|違法)"
        r"|(?:範囲を超え|原則として|著作権者)[^。]{0,80}?(?:許諾|承諾|許可)(?:を得て[^。]{0,10}?)?(?:が|を)?必要"), ARR,
        keywords=("許諾", "承諾", "許可")),
    TextRule("no_redistribution", "restrict", re.compile(
        r"(?:再配布|再発行|再配信|再販売|第三者の利用に供)[^。]{0,30}?(?:しないこと|してはなりません|してはならない|できません|禁止)"
        r"|第三者に(?:利用させる|提供する|再配布する)こと(?:は)?できません"), ARR,
        keywords=("再配布", "再発行", "再配信", "再販売", "第三者")),
    TextRule("reuse_forbidden", "restrict", re.compile(
        r"(?:複製|転載|改変|再利用)[^。]{0,20}?すること(?:は|が)できません"), ARR, keywords=("できません",)),
    TextRule("all_rights_reserved", "restrict", re.compile(r"all\s+rights\s+reserved", re.I), ARR, keywords=("reserved",)),
    TextRule("attribution_required", "attribution", re.compile(r"出典を(?:記載|明記|明示|表示)|出典[:：][^\n]{1,60}"), keywords=("出典",)),
]
_CREDIT_LINE = re.compile(r"出典")

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
    port = f"-{m.group('port').upper()}" if m.group("port") else ""
    return f"CC-{m.group('type').upper()}-{m.group('ver') or '4.0'}{port}"


def normalise_text(text: str) -> str:
    """The form text rules match: NFKC, no spaces next to Japanese, no quotes, no 「。)」 full stop.

    Idempotent, so a stored snippet normalised again is unchanged (``recheck`` relies on it).
    """
    text = unicodedata.normalize("NFKC", re.sub(r"[ \t\r\f\v]+", " ", text))
    text = JA_SPACE.sub("", text).translate(QUOTES)
    return re.sub(r"。(?=\))", "", text)


def _snippet(text: str, start: int, end: int) -> str:
    """The match with up to 40 characters either side, at least ``SNIPPET`` long, never cut."""
    lo = max(0, start - 40)
    part = re.sub(r"\n\s*", "\n", re.sub(r"[ \t\r\f\v]+", " ", text[lo:max(end + 40, lo + SNIPPET)]))
    return part.strip()[:max(SNIPPET, end - lo + 40)]


def _visible(html: str) -> str:
    """Tag-free normalised text (markup splits 規約</a>に準拠; entities are decoded); block tags
    become line ends, inline tags spaces."""
    return normalise_text(html_lib.unescape(TAG.sub(" ", BLOCK_TAG.sub("\n", html))))


def _location(html: str, pos: int, footer_spans: list[tuple[int, int]], body_at: int) -> str:
    if body_at >= 0 and pos < body_at:
        return "head"
    if any(a <= pos < b for a, b in footer_spans) or pos >= len(html) * 0.85:
        return "footer"
    return "body"


def _in_credit_line(text: str, start: int) -> bool:
    """A licence named on a 出典 line credits a quoted work; it does not license this page."""
    line_start = max(text.rfind("\n", 0, start), text.rfind("。", 0, start)) + 1
    return bool(_CREDIT_LINE.search(text, line_start, start))


def text_signals(text: str) -> list[tuple[TextRule, re.Match[str], str | None]]:
    """Every text-rule match on normalised text, with the licence it gives (grants that name no
    registered-looking licence, or that sit on a 出典 line, are dropped)."""
    found = []
    lowered = text.lower()
    for rule in TEXT_RULES:
        if not rule.may_match(lowered):
            continue
        for m in rule.pattern.finditer(text):
            lic = rule.license_for(m)
            if rule.kind == "grant" and (lic is None or _in_credit_line(text, m.start())):
                continue
            found.append((rule, m, lic))
    return found


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
        add(Signal("cc_url", "grant", cc_license_id(m), "cc_url", _location(html, m.start(), footers, body_at),
                   re.sub(r"\s+", " ", html[max(0, m.start() - 40):m.end() + 40]).strip()[:SNIPPET]))
    # Visible text per region, so a footer notice is told apart from an article quoting it.
    regions = [("head", html[:body_at])] if body_at > 0 else []
    rest = FOOTER.sub(lambda m: " " * len(m.group(0)), html[max(body_at, 0):])
    cut = int(len(rest) * 0.85)
    foot_text = " ".join(html[a:b] for a, b in footers)
    regions += [("body", rest[:cut]), ("footer", foot_text + " " + rest[cut:])]
    for where, part in regions:
        text = _visible(part)
        for rule, m, lic in text_signals(text):
            add(Signal(rule.rule, rule.kind, lic, "text", where, _snippet(text, m.start(), m.end())))
    for s in list(signals):
        if s.kind == "grant" and s.license and re.search(r"-(NC|ND)-", s.license):
            signals.append(Signal(s.rule + "_restriction", "restrict", s.license, s.method, s.location, s.snippet))
    return signals


def recheck(evidence: dict) -> bool:
    """Does a stored page signal still hold: its snippet matches its rule and gives its licence?

    ``corpus audit`` runs this on every decisive page signal, so an edited evidence string or
    licence id is caught without the raw page. Snippets always hold the whole match, so the rule's
    own pattern (and, for grants, the licence it reads from the match) is checked again.
    """
    rule, snippet, lic = evidence.get("rule"), evidence.get("snippet") or "", evidence.get("license")
    base = rule.removesuffix("_restriction") if isinstance(rule, str) else rule
    if base in ("link_rel_license", "cc_url"):
        m = CC_URL.search(snippet)
        return bool(m) and cc_license_id(m) == lic
    for text_rule in TEXT_RULES:
        if text_rule.rule == base:
            return any(found is text_rule and given == lic for found, _m, given in text_signals(normalise_text(snippet)))
    return True  # registry and bulk-terms evidence are checked against the registry, not a pattern
