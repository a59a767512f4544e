"""Token counting throughput: the pipeline's TokenCountStage vs sentencepiece's own batch encode.

Both run in this process on the same real text (the 127 e-Gov law texts of Dec 2013 and the 230
chABSA securities-report excerpts from ../shared/data), with the same model. The stage's figure
includes everything it does in a run (Arrow column to Python strings, batches of
``--batch-size``, the n_tokens column); the baseline is one ``encode`` call over the whole list.
Best of ``--repeat`` interleaved runs each. Target: the stage at >= 0.8x of the baseline.

    PYTHONPATH=$PWD python benchmarks/tokens.py [--model tokenizer-models/sample.model] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import pyarrow as pa
import sentencepiece as spm

from corpus.tokens.counter import TokenCountStage

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CORPUS_SHARED_DATA", REPO.parent / "shared" / "data"))


def real_texts() -> list[str]:
    laws = [p.read_text(encoding="utf-8") for p in sorted((SHARED / "law_html/lawegov_2013_sjis/text").glob("*.txt"))]
    filings = []
    for p in sorted((SHARED / "finance/chabsa").glob("*.json")):
        filings.append("\n".join(s["sentence"] for s in json.loads(p.read_text(encoding="utf-8"))["sentences"]))
    return laws + filings


def interleaved_best(fns: list, repeat: int) -> list[tuple[float, object]]:
    """Best time of each function, the runs interleaved so background load hits both alike."""
    times: list[list[float]] = [[] for _ in fns]
    outs: list[object] = [None] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            outs[i] = fn()
            times[i].append(time.perf_counter() - t0)
    return [(min(t), o) for t, o in zip(times, outs)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=str(REPO / "tokenizer-models/sample.model"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=256)
    args = ap.parse_args()

    texts = real_texts()
    chars = sum(map(len, texts))
    table = pa.table({"text": texts})
    sp = spm.SentencePieceProcessor(model_file=args.model)
    stage = TokenCountStage(args.model, args.batch_size)
    stage.counter.count(["warm up"])

    (base_t, base_ids), (stage_t, out) = interleaved_best([lambda: sp.encode(texts), lambda: stage.process(table).kept], args.repeat)
    counts = out.column("n_tokens").to_pylist()
    assert counts == [len(x) for x in base_ids], "the stage must count exactly what sentencepiece encodes"
    tokens = sum(counts)
    print(f"text: {len(texts)} documents, {chars:,} characters, {tokens:,} tokens; model {args.model}; cpus {os.cpu_count()}")
    print(f"sentencepiece encode(list)     : {base_t:.3f} s  {chars / base_t / 1e6:.2f} M chars/s  {tokens / base_t / 1e6:.2f} M tokens/s")
    print(f"TokenCountStage (batch {args.batch_size:>4})  : {stage_t:.3f} s  {chars / stage_t / 1e6:.2f} M chars/s  {tokens / stage_t / 1e6:.2f} M tokens/s")
    print(f"ratio stage / sentencepiece    : {base_t / stage_t:.2f}x (target >= 0.8x)")


if __name__ == "__main__":
    main()
