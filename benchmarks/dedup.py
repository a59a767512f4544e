"""Near-dedup in one process: speed-up over datasketch's default path on real law texts.

Documents are 3,000-character pieces of the 127 real e-Gov law texts in shared data; every tenth
piece also gets a near-duplicate twin (0.5% of characters replaced, J ~ 0.95) that dedup must find.

In one process: datasketch's default path (``MinHash.update_batch`` with
its SHA-1 hash, ``MinHashLSH(params=(b, r))`` insert + query, Jaccard check) vs ours
(vectorised signatures, band keys grouped in a dict, same check). The hash functions differ
(SHA-1 vs ours), so pairs right at the Jaccard cut may differ by one or two.
The distributed path (signatures in the document phase, band-key buckets on the worker pool,
verified clusters) is measured end to end, with driver memory from 10^4 to 10^6 documents and
planted near copies, by ``benchmarks/scale.py``.

Run:  PYTHONPATH=. python benchmarks/dedup.py
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import unicodedata
from collections import defaultdict
from pathlib import Path


SHARED = Path(os.environ.get("CORPUS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
B, R, PIECE = 14, 8, 3000


def _edit(text: str, rate: float, rng: random.Random) -> str:
    return "".join(chr(rng.randrange(0x4E00, 0x9FA0)) if rng.random() < rate else c for c in text)


def make_docs() -> list[dict]:
    files = sorted((SHARED / "law_html/lawegov_2013_sjis/text").glob("*.txt"))
    text = "".join(unicodedata.normalize("NFKC", f.read_text(encoding="utf-8")) for f in files)
    pieces = ["".join(text[i : i + PIECE].split()) for i in range(0, len(text) - PIECE, PIECE)]
    docs = []
    for i, piece in enumerate(pieces):
        rng = random.Random(i)
        body = _edit(piece, 0.25, rng)
        docs.append({"doc_id": f"{i:05d}", "text": body})
        if i % 10 == 0:
            docs.append({"doc_id": f"{i:05d}t", "text": _edit(body, 0.005, rng)})
    return docs


def in_process_comparison(docs: list[dict]) -> dict:
    from datasketch import MinHash, MinHashLSH

    from corpus.dedup.lsh import band_keys
    from corpus.dedup.minhash import MinHasher, estimate_jaccard

    texts = [d["text"] for d in docs]
    t0 = time.perf_counter()
    lsh = MinHashLSH(num_perm=B * R, params=(B, R))
    sketches = []
    for i, t in enumerate(texts):
        m = MinHash(num_perm=B * R, seed=1)
        m.update_batch([t[j : j + 5].encode("utf-8") for j in range(max(1, len(t) - 4))])
        lsh.insert(i, m)
        sketches.append(m)
    theirs = {(i, j) for i, m in enumerate(sketches) for j in lsh.query(m) if i < j and m.jaccard(sketches[j]) >= 0.5}
    t_ds = time.perf_counter() - t0

    t0 = time.perf_counter()
    hasher = MinHasher(B * R, seed=1)
    import numpy as np

    sigs = np.stack([hasher.signature(t) for t in texts])
    buckets: dict[int, list[int]] = defaultdict(list)
    for i, row in enumerate(band_keys(sigs, B, R)):
        for k in row:
            buckets[int(k)].append(i)
    ours = {(i, j) for g in buckets.values() for i in g for j in g if i < j and estimate_jaccard(sigs[i], sigs[j]) >= 0.5}
    t_ours = time.perf_counter() - t0
    return {"docs": len(texts), "datasketch_s": round(t_ds, 3), "ours_s": round(t_ours, 3), "speedup": round(t_ds / t_ours, 1),
            "pairs_datasketch": len(theirs), "pairs_ours": len(ours)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.parse_args(argv)
    print(json.dumps(in_process_comparison(make_docs())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
