"""Decontamination: how well n-gram overlap finds chABSA in real text, and what the stage costs.

1. Choice of method (``--sweep``): on the labelled set of tests/contamination_docs.py (statute
   excerpts quoting chABSA sentences, the same with one sentence lightly edited, real filings that
   only share the genre's phrases, statutes alone), for character n-gram lengths and minimum
   overlaps: recall on quotes and paraphrases, documents wrongly removed, precision.
2. Scale: an index of 10^5 evaluation items (real sentences of statutes and a novel, plus
   chABSA): build time, size on disk, time to open (memory-map).
3. Cost: the stage (defaults of ``[decontamination]``) with the chABSA index and with the 10^5
   index, against token counting (the pipeline's TokenCountStage with the sample sentencepiece
   model and with a byte-level BPE tokenizer.json trained here), on the labelled documents and on
   the clean filings alone; best of ``--repeat`` interleaved runs, in this process.

    PYTHONPATH=$PWD python benchmarks/decontamination.py [--sweep] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from corpus.filters.decontaminate import DecontaminateStage
from corpus.filters.eval_sets import EvalSet
from corpus.filters.overlap_index import Index, Method, build_index, find_matches
from corpus.tokens.counter import TokenCountStage
from corpus.tokens.tokenizer import load_tokenizer
from corpus.tokens.train import train_bpe

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CORPUS_SHARED_DATA", REPO.parent / "shared" / "data"))
sys.path.insert(0, str(REPO / "tests"))
from contamination_docs import labelled_docs, truly_contaminated, write_eval_set  # noqa: E402


def interleaved_best(fns: list, repeat: int) -> list[float]:
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - t0)
    return [min(t) for t in times]


def score(docs, flagged: list[bool], truth: list[bool]) -> dict:
    out = {}
    for kind in ("quote", "paraphrase", "boilerplate", "unrelated"):
        sel = [(f, t) for d, f, t in zip(docs, flagged, truth) if d.kind == kind]
        out[kind] = (sum(f for f, _ in sel), len(sel))
    tp = sum(f and t for f, t in zip(flagged, truth))
    fp = sum(f and not t for f, t in zip(flagged, truth))
    out["precision"] = tp / (tp + fp) if tp + fp else 1.0
    out["recall"] = tp / sum(truth) if sum(truth) else 1.0
    out["false_positives"] = fp
    return out


def sweep(work: Path, eval_set: EvalSet, docs, truth) -> None:
    print("n   min_overlap  min_ngrams  quotes   paraphrases  boilerplate-flagged  unrelated-flagged  false+  precision  recall")
    for n in (5, 8, 10, 13, 16, 20):
        index = Index(build_index([eval_set], Method(ngram=n), work / "sweep"))
        for ov in (0.3, 0.5, 0.7):
            for mn in (3, 10, 20, 30):
                method = Method(ngram=n, min_overlap=ov, min_ngrams=mn)
                flagged = [bool(find_matches(d.text, index, method)) for d in docs]
                s = score(docs, flagged, truth)
                print(f"{n:<3} {ov:<12} {mn:<11} {s['quote'][0]:>3}/{s['quote'][1]:<4} {s['paraphrase'][0]:>3}/{s['paraphrase'][1]:<8} "
                      f"{s['boilerplate'][0]:>3}/{s['boilerplate'][1]:<16} {s['unrelated'][0]:>3}/{s['unrelated'][1]:<14} "
                      f"{s['false_positives']:<7} {s['precision']:.3f}      {s['recall']:.3f}")


def scale_items(target: int) -> list[str]:
    """Sentences (12-200 chars) of real statutes, filings, Diet-free prose: evaluation-like items."""
    texts = [p.read_text(encoding="utf-8") for p in sorted((SHARED / "law_html/lawegov_2013_sjis/text").glob("*.txt"))]
    texts.append((SHARED / "wiki/aozora_wagahaiwa_nekodearu/wagahaiwa_nekodearu.txt").read_text(encoding="utf-8"))
    out: list[str] = []
    for t in texts:
        out += [s for s in re.split(r"[。\n]", t) if 12 <= len(s) <= 200]
    out = list(dict.fromkeys(out))
    while len(out) < target:  # not expected with the data kit; keeps the figure at 10^5 regardless
        out += [s[::-1] for s in out[: target - len(out)]]
    return out[:target]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sweep", action="store_true", help="also measure recall/precision over n and min_overlap")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--scale-items", type=int, default=100_000)
    args = ap.parse_args()
    if not (SHARED / "finance" / "chabsa").is_dir():
        raise SystemExit(f"data kit not found at {SHARED} (set CORPUS_SHARED_DATA)")
    work = Path(tempfile.mkdtemp(prefix="decontam-bench-"))
    items = write_eval_set(SHARED, work / "chabsa.jsonl")
    eval_set = EvalSet("chabsa", work / "chabsa.jsonl", "text", "id")
    docs = labelled_docs(SHARED, items)
    truth = [truly_contaminated(d, items) for d in docs]
    print(f"evaluation set: {len(items)} chABSA sentences; documents: {len(docs)} "
          f"({sum(truth)} truly contaminated); cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    if args.sweep:
        sweep(work, eval_set, docs, truth)

    method = Method()
    stage = DecontaminateStage(str(build_index([eval_set], method, work / "idx")), method)
    s = score(docs, [bool(find_matches(d.text, stage.index, method)) for d in docs], truth)
    print(f"defaults {method}: quotes {s['quote']}, paraphrases {s['paraphrase']}, boilerplate flagged {s['boilerplate']}, "
          f"unrelated flagged {s['unrelated']}, false positives {s['false_positives']}, precision {s['precision']:.3f}, recall {s['recall']:.3f}")

    big = work / "scale.jsonl"
    big.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in scale_items(args.scale_items)), encoding="utf-8")
    t0 = time.perf_counter()
    path = build_index([EvalSet("scale", big), eval_set], method, work / "scale-idx")
    t_build = time.perf_counter() - t0
    size = sum(f.stat().st_size for f in path.iterdir())
    t0 = time.perf_counter()
    big_stage = DecontaminateStage(str(path), method)
    big_stage.index  # noqa: B018 - memory-map once, as a worker does
    t_open = time.perf_counter() - t0
    print(f"index of {args.scale_items + len(items):,} items (real sentences of statutes and a novel, plus chABSA): built in "
          f"{t_build:.1f} s, {size / 2**20:.1f} MiB on disk, opened (memory-mapped) in {t_open * 1000:.0f} ms")

    sp = TokenCountStage(load_tokenizer(REPO / "tokenizer-models/sample.model"))
    bpe = TokenCountStage(load_tokenizer(train_bpe([SHARED / "wiki/aozora_wagahaiwa_nekodearu/wagahaiwa_nekodearu.txt"], work / "bpe", 8000)))
    corpora = {
        "labelled set (all kinds)": docs,
        "filings not in the set (clean)": [d for d, t in zip(docs, truth) if d.kind == "boilerplate" and not t],
    }
    big_n = f"{(args.scale_items + len(items)) // 1000}k"
    print(f"corpus                          docs  chars      | decontam {len(items) // 1000}k items | decontam {big_n} items | sentencepiece | BPE tokenizer.json | ratios (decontam {big_n} / sp, / bpe)")
    for name, ds in corpora.items():
        table = pa.table({"doc_id": [d.name for d in ds], "locator": [d.name for d in ds], "text": [d.text for d in ds]})
        chars = sum(len(d.text) for d in ds)
        for st in (stage, big_stage, sp, bpe):
            st.process(table.slice(0, 2))
        t = interleaved_best([lambda st=st: st.process(table) for st in (stage, big_stage, sp, bpe)], args.repeat)
        rate = [f"{chars / x / 1e6:5.2f} M chars/s" for x in t]
        print(f"{name:<31} {len(ds):>4}  {chars:>9,}  | {rate[0]}  | {rate[1]}    | {rate[2]} | {rate[3]}   | {t[1] / t[2]:.2f}x, {t[1] / t[3]:.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
