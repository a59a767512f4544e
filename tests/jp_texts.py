"""Real Japanese (and non-Japanese) texts for rule tests, cut from ../shared/data.

Bad examples are built from real fragments (a real sentence repeated, real headings alone, real
nouns as a keyword list), the way HojiChar's tests build theirs.
"""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from corpus.text.morphology import parse
from corpus.text.normalize import normalize_text


@lru_cache(maxsize=1)
def texts(shared: Path) -> dict[str, str]:
    chabsa = json.loads((shared / "finance/chabsa/e00008_ann.json").read_text(encoding="utf-8"))
    sentences = [normalize_text(s["sentence"]) for s in chabsa["sentences"]]
    finance = "\n".join(sentences)
    law = normalize_text((shared / "law_html/lawegov_2013_sjis/text/bf2a36e69d30a929.txt").read_text(encoding="utf-8"))
    root = ET.parse(shared / "diet/kokkai_api_meeting_xml/212-end.xml").getroot()
    speeches = [normalize_text(e.text or "") for e in root.iter("speech")][1:40]
    diet = "\n".join(s for s in speeches if s)
    with open(shared / "warc/commoncrawl_whirlwind/whirlwind.warc.wet.gz", "rb") as fh:
        aragonese = next(
            r.content_stream().read().decode("utf-8") for r in ArchiveIterator(fh) if r.rec_type == "conversion"
        )
    headings = "\n".join(line for line in law.split("\n") if 0 < len(line) <= 8)
    m = parse(finance)
    nouns = "、".join(s for s, p in zip(m.surfaces, m.pos) if p == "名詞")
    katakana = "、".join(re.findall(r"[ァ-ヺー]{2,}", finance + diet))
    manifest = (shared / "MANIFEST.tsv").read_text(encoding="utf-8")
    hashes = " ".join(re.findall(r"[0-9a-f]{64}", manifest)[:40])
    digit_runs = " ".join(re.findall(r"[0-9]{8,}", manifest)[:200])
    # 連結貸借対照表 of the FSA's XBRL sample, one row per line, cells joined as the EDINET reader joins them
    bs = ET.parse(next((shared / "finance/edinet_xbrl_sample_X99001").glob("0105020_*.htm"))).getroot()
    xhtml = "{http://www.w3.org/1999/xhtml}"
    rows = (" | ".join(c for c in ("".join(td.itertext()).strip() for td in tr.iter(xhtml + "td")) if c) for tr in bs.iter(xhtml + "tr"))
    balance_sheet = normalize_text("\n".join(r for r in rows if r))
    blob = base64.b64encode((shared / "warc/commoncrawl_whirlwind/whirlwind.warc.gz").read_bytes()[:3000]).decode()
    return {
        "finance": finance,
        "law": law,
        "diet": diet,
        "aragonese": normalize_text(aragonese),
        # Written here: Chinese has no public fixture in shared/data. Kanji, no kana.
        "chinese": "中国人民银行是中华人民共和国的中央银行，负责制定和执行货币政策，防范和化解金融风险，维护金融稳定。" * 8,
        "short": sentences[0][:120],
        "headings": headings,
        "nouns": nouns,
        "katakana_list": katakana,
        "repeated": "\n".join([sentences[0]] * 12),
        "repeated_word": "増収増益" * 150,
        "run_on": "、".join(s.rstrip("。") for s in sentences),
        "teasers": "\n".join(s[:30] + "…" for s in sentences),
        "symbols": "".join(c for c in finance + law if not c.isalpha()),
        "separator": finance + "\n" + "-" * 250,
        "hashes": hashes,
        "digit_runs": digit_runs,
        "base64": blob,
        "ng_one": finance + "\n出会い系サイトの広告です。",
        "ng_many": "\n".join(["出会い系サイトで人妻と熟女のアダルト動画が無修正。"] * 6 + sentences[:2]),
        "empty_words": "、。・" * 200,
        "balance_sheet": balance_sheet,
    }
