"""Token counting throughput: the pipeline's TokenCountStage vs each tokenizer library's own batch encode.

Both kinds of tokenizer file, on the same real text (the 127 e-Gov law texts of Dec 2013 and the
230 chABSA securities-report excerpts from ../shared/data), in this process:

- sentencepiece (``--model``, default the sample model): baseline ``encode(list)``, one call;
- Hugging Face ``tokenizer.json`` (``--hf-model``; default: a byte-level BPE of ``--hf-vocab``
  ids trained here with ``corpus tokenizer train --kind bpe`` on 吾輩は猫である): baselines
  ``encode_batch(list)`` and ``encode_batch_fast(list)`` (no offsets), one call each.

The stage's figure includes everything it does in a run (Arrow column to Python strings, batches
of ``--batch-size``, the n_tokens column). Best of ``--repeat`` interleaved runs each, so
background load hits all alike; the load average is printed. Target: the stage at >= 0.8x of the
library's own batch encode, for both kinds.

    PYTHONPATH=$PWD python benchmarks/tokens.py [--model tokenizer-models/sample.model] [--hf-model tokenizer.json] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import sentencepiece as spm

from tokenizers import Tokenizer as HFTokenizer

from corpus.tokens.counter import TokenCountStage
from corpus.tokens.tokenizer import load_tokenizer
from corpus.tokens.train import train_bpe

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


def hf_model(args, work: Path) -> Path:
    if args.hf_model:
        return Path(args.hf_model)
    text = SHARED / "wiki/aozora_wagahaiwa_nekodearu/wagahaiwa_nekodearu.txt"
    return train_bpe([text], work / "bench-bpe", args.hf_vocab)


def report(kind: str, model: str, baselines: list[tuple[str, float]], stage_t: float, chars: int, tokens: int, batch: int) -> None:
    print(f"[{kind}] {model}")
    for label, t in baselines:
        print(f"  {label:<34}: {t:.3f} s  {chars / t / 1e6:.2f} M chars/s  {tokens / t / 1e6:.2f} M tokens/s")
    print(f"  {'TokenCountStage (batch ' + str(batch) + ')':<34}: {stage_t:.3f} s  {chars / stage_t / 1e6:.2f} M chars/s  {tokens / stage_t / 1e6:.2f} M tokens/s")
    for label, t in baselines:
        print(f"  ratio stage / {label:<20}: {t / stage_t:.2f}x (target >= 0.8x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=str(REPO / "tokenizer-models/sample.model"))
    ap.add_argument("--hf-model", help="a tokenizer.json (default: train a byte-level BPE here)")
    ap.add_argument("--hf-vocab", type=int, default=8000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=256)
    args = ap.parse_args()

    texts = real_texts()
    chars = sum(map(len, texts))
    table = pa.table({"text": texts})
    print(f"text: {len(texts)} documents, {chars:,} characters; cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")

    sp = spm.SentencePieceProcessor(model_file=args.model)
    stage = TokenCountStage(load_tokenizer(args.model), args.batch_size)
    (base_t, base_ids), (stage_t, out) = interleaved_best([lambda: sp.encode(texts), lambda: stage.process(table).kept], args.repeat)
    counts = out.column("n_tokens").to_pylist()
    assert counts == [len(x) for x in base_ids], "the stage must count exactly what sentencepiece encodes"
    report("sentencepiece", args.model, [("encode(list)", base_t)], stage_t, chars, sum(counts), args.batch_size)

    with tempfile.TemporaryDirectory() as work:
        path = hf_model(args, Path(work))
        hf = HFTokenizer.from_file(str(path))
        stage = TokenCountStage(load_tokenizer(path), args.batch_size)
        stage.tokenizer.count(["warm up"])
        (batch_t, batch_enc), (fast_t, _), (stage_t, out) = interleaved_best([
            lambda: hf.encode_batch(texts, add_special_tokens=False),
            lambda: hf.encode_batch_fast(texts, add_special_tokens=False),
            lambda: stage.process(table).kept,
        ], args.repeat)
        counts = out.column("n_tokens").to_pylist()
        assert counts == [len(e.ids) for e in batch_enc], "the stage must count exactly what tokenizers encodes"
        report("huggingface", f"{path.name} (vocab {hf.get_vocab_size()})", [("encode_batch(list)", batch_t), ("encode_batch_fast(list)", fast_t)],
               stage_t, chars, sum(counts), args.batch_size)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
