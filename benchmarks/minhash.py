"""MinHash signatures per second: corpus.dedup (vectorised numpy) vs datasketch ``MinHash.update_batch``.

Same real documents (the UTF-8 renderings of 127 e-Gov law pages in shared data, NFKC as the
pipeline leaves them), same character 5-gram shingles, same number of permutations and seed, in
the same process. Baselines:

* datasketch default: ``MinHash(num_perm, seed).update_batch(<utf-8 shingles>)`` (SHA-1 per shingle);
* datasketch with our shingle hash: bit-identical signatures, checked here for every document.

Run:  PYTHONPATH=. python benchmarks/minhash.py [--num-perm 112] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np
from datasketch import MinHash

from corpus.dedup.minhash import MinHasher, estimate_jaccard
from corpus.dedup.shingles import char_shingles, shingle_hash, shingle_text

SHARED = Path(os.environ.get("CORPUS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def load_texts() -> list[str]:
    files = sorted((SHARED / "law_html/lawegov_2013_sjis/text").glob("*.txt"))
    return [unicodedata.normalize("NFKC", f.read_text(encoding="utf-8")) for f in files]


def best_of(repeat: int, fn) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--num-perm", type=int, default=112)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    texts = load_texts()
    chars = sum(len(t) for t in texts)
    hasher = MinHasher(args.num_perm, args.seed)

    def ours():
        return [hasher.signature(t) for t in texts]

    def datasketch_default():
        out = []
        for t in texts:
            s = shingle_text(t)
            m = MinHash(num_perm=args.num_perm, seed=args.seed)
            m.update_batch([s[i : i + 5].encode("utf-8") for i in range(max(1, len(s) - 4))])
            out.append(m)
        return out

    def datasketch_same_hash():
        out = []
        for t in texts:
            m = MinHash(num_perm=args.num_perm, seed=args.seed, hashfunc=shingle_hash)
            m.update_batch(char_shingles(t))
            out.append(m)
        return out

    t_ours, sigs = best_of(args.repeat, ours)
    t_default, default = best_of(args.repeat, datasketch_default)
    t_same, same = best_of(args.repeat, datasketch_same_hash)
    identical = all(np.array_equal(s, m.hashvalues) for s, m in zip(sigs, same))
    pairs = [(i, i + 1) for i in range(len(texts) - 1)]
    equal_estimates = all(estimate_jaccard(sigs[i], sigs[j]) == same[i].jaccard(same[j]) for i, j in pairs)
    n = len(texts)
    print(f"documents: {n}, characters: {chars:,}, num_perm: {args.num_perm}, seed: {args.seed}, best of {args.repeat}")
    print(f"corpus.dedup (numpy)               {n / t_ours:10.1f} docs/s  {chars / t_ours / 1e6:6.2f} M chars/s")
    print(f"datasketch update_batch (default)  {n / t_default:10.1f} docs/s  {chars / t_default / 1e6:6.2f} M chars/s")
    print(f"datasketch update_batch (same hash){n / t_same:10.1f} docs/s  {chars / t_same / 1e6:6.2f} M chars/s")
    print(f"speed-up vs datasketch default:   {t_default / t_ours:6.1f}x")
    print(f"speed-up vs datasketch same hash: {t_same / t_ours:6.1f}x")
    print(f"signatures bit-identical to datasketch (same hash): {identical}; Jaccard estimates equal: {equal_estimates}")
    return 0 if identical and equal_estimates else 1


if __name__ == "__main__":
    sys.exit(main())
