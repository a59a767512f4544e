"""Throughput of the whole quality stage versus fugashi parsing alone, on the same real text.

Run from the repository root:

    PYTHONPATH=$PWD python benchmarks/quality.py [--profile swallow-v1] [--repeat 3]

Texts: the e-Gov 2013 statutes (site plain text, 127 files), the chABSA financial documents and
the Diet speeches of ../shared/data, all NFKC-normalised. "fugashi alone" is the bare parse of
every text with the same tagger (``Tagger.parse``: MeCab's work, no Python per word; the
baseline of the ratio); "fugashi nodes" is the common way of using it (iterate nodes, read
``feature.pos1``), for reference. "quality stage" is QualityStage.process on a table of the same
texts (all character signals, the rules, MeCab on the survivors, the morphology signals). Target:
the stage costs at most 1.5x fugashi alone. Prints characters per second and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from corpus.document import DOC_SCHEMA, docs_from_rows
from corpus.filters.quality import QualityStage
from corpus.filters.rules import load_profile
from corpus.text.morphology import tagger
from corpus.text.normalize import normalize_text

SHARED = Path(os.environ.get("CORPUS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def load_texts() -> list[str]:
    texts = [normalize_text(p.read_text(encoding="utf-8")) for p in sorted((SHARED / "law_html/lawegov_2013_sjis/text").glob("*.txt"))]
    for p in sorted((SHARED / "finance/chabsa").glob("*.json")):
        doc = json.loads(p.read_text(encoding="utf-8"))
        texts.append(normalize_text("\n".join(s["sentence"] for s in doc["sentences"])))
    for p in sorted((SHARED / "diet/kokkai_api_meeting_xml").glob("*.xml")):
        root = ET.parse(p).getroot()
        texts.append(normalize_text("\n".join(e.text or "" for e in root.iter("speech"))))
    return [t for t in texts if t]


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="swallow-v1")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    texts = load_texts()
    chars = sum(map(len, texts))
    table = docs_from_rows([{"doc_id": str(i), "locator": str(i), "text": t} for i, t in enumerate(texts)], DOC_SCHEMA)
    stage = QualityStage(load_profile(args.profile))
    tagger()  # load the dictionary outside the timings
    t_parse = best_of(args.repeat, lambda: [tagger().parse(t) for t in texts])
    t_nodes = best_of(args.repeat, lambda: [[(w.surface, w.feature.pos1) for w in tagger()(t)] for t in texts])
    out = None

    def run_stage() -> None:
        nonlocal out
        out = stage.process(table)

    t_stage = best_of(args.repeat, run_stage)
    kept = out.kept.num_rows
    print(f"texts: {len(texts)} documents, {chars:,} characters; profile {args.profile}: kept {kept}, rejected {len(texts) - kept}")
    print(f"fugashi parse alone : {chars / t_parse:12,.0f} chars/s  ({t_parse:.3f} s)")
    print(f"fugashi nodes + pos : {chars / t_nodes:12,.0f} chars/s  ({t_nodes:.3f} s)")
    print(f"whole quality stage : {chars / t_stage:12,.0f} chars/s  ({t_stage:.3f} s)")
    print(f"ratio stage/fugashi : {t_stage / t_parse:.2f}x  (target <= 1.5x)")


if __name__ == "__main__":
    main()
