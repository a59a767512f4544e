"""Throughput of the whole quality stage versus fugashi parsing alone, on the same real text.

Run from the repository root:

    PYTHONPATH=$PWD python benchmarks/quality.py [--profile swallow-v1] [--repeat 5] [--with-nodes]

Texts: the e-Gov 2013 statutes (site plain text, 127 files), the chABSA financial documents and
the Diet speeches of ../shared/data, all NFKC-normalised. "fugashi alone" is the bare parse of
every text with the same tagger (``Tagger.parse``: MeCab's work, no Python per word; the
baseline of the ratio); "MeCab, lean output" is the same parse printing only surface and part of
speech, as the stage's ``parse`` has it (the floor of what the stage could cost); "fugashi nodes"
(``--with-nodes``) is the common way of using fugashi (iterate nodes, read ``feature.pos1``). "quality stage" is QualityStage.process on a table of the same
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

import fugashi

from corpus.document import DOC_SCHEMA, docs_from_rows
from corpus.filters.quality import QualityStage
from corpus.filters.rules import load_profile
from corpus.text.morphology import lean_tagger
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


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="swallow-v1")
    ap.add_argument("--repeat", type=int, default=5, help="rounds; each round times the baseline and the stage back to back")
    ap.add_argument("--with-nodes", action="store_true", help="also time fugashi node iteration (slow; for reference)")
    args = ap.parse_args()
    texts = load_texts()
    chars = sum(map(len, texts))
    table = docs_from_rows([{"doc_id": str(i), "locator": str(i), "text": t} for i, t in enumerate(texts)], DOC_SCHEMA)
    stage = QualityStage(load_profile(args.profile))
    fugashi_tagger = fugashi.Tagger()  # fugashi as its users start it (unidic-lite); loaded outside the timings
    lean_tagger()
    out = None

    def run_stage() -> None:
        nonlocal out
        out = stage.process(table)

    # Interleaved rounds: on a shared machine the load drifts, and timing all baseline runs before
    # all stage runs would fold that drift into the ratio.
    rounds = []
    for _ in range(args.repeat):
        rounds.append(
            (timed(lambda: [fugashi_tagger.parse(t) for t in texts]), timed(lambda: [lean_tagger().parse(t) for t in texts]), timed(run_stage))
        )
    t_parse, t_lean, t_stage = (min(r[i] for r in rounds) for i in range(3))
    ratios = sorted(r[2] / r[0] for r in rounds)
    kept = out.kept.num_rows
    print(f"texts: {len(texts)} documents, {chars:,} characters; profile {args.profile}: kept {kept}, rejected {len(texts) - kept}")
    print(f"fugashi parse alone : {chars / t_parse:12,.0f} chars/s  ({t_parse:.3f} s, best of {args.repeat})")
    print(f"MeCab, lean output  : {chars / t_lean:12,.0f} chars/s  ({t_lean:.3f} s; the format parse() reads, for reference)")
    if args.with_nodes:
        t_nodes = timed(lambda: [[(w.surface, w.feature.pos1) for w in fugashi_tagger(t)] for t in texts])
        print(f"fugashi nodes + pos : {chars / t_nodes:12,.0f} chars/s  ({t_nodes:.3f} s)")
    print(f"whole quality stage : {chars / t_stage:12,.0f} chars/s  ({t_stage:.3f} s, best of {args.repeat})")
    print(f"ratio stage/fugashi : {t_stage / t_parse:.2f}x of the bests; per round median {ratios[len(ratios) // 2]:.2f}x, "
          f"range {ratios[0]:.2f}-{ratios[-1]:.2f}x  (target <= 1.5x)")


if __name__ == "__main__":
    main()
