"""Near-dedup end to end: speed-up over datasketch's default path, Ray throughput, driver memory.

Documents are 3,000-character pieces of the 127 real e-Gov law texts in shared data. At input size
``k``x every piece appears ``k`` times, each copy with 25% of its characters replaced (J ~ 0.2, so
copies are distinct documents). Every tenth piece of the first copy also gets a near-duplicate
twin (0.5% of characters replaced, J ~ 0.95) that dedup must remove: the number of duplicates is
the same at every size, so driver memory that grows from 1x to 10x would be growth with the corpus.

1. In one process, on the 1x documents: datasketch's default path (``MinHash.update_batch`` with
   its SHA-1 hash, ``MinHashLSH(params=(b, r))`` insert + query, Jaccard check) vs ours
   (vectorised signatures, band keys grouped in a dict, same check). The hash functions differ
   (SHA-1 vs ours), so pairs right at the Jaccard cut may differ by one or two.
2. In a fresh subprocess per configuration (so peak RSS is that run's): signatures computed in Ray
   ``map_batches`` workers from partition files, then ``find_near_duplicates`` (the runner's Ray
   step: band keys, groupby shuffle, bucket edges, union-find on the driver). Reported: documents/s
   of both steps with 1 and 2 workers, the driver's peak RSS and its peak Python allocation
   (tracemalloc) during the dedup step, at 1x and 10x input size.

Run:  PYTHONPATH=. python benchmarks/dedup.py [--sizes 1 10] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import unicodedata
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SHARED = Path(os.environ.get("CORPUS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
B, R, PIECE, PER_PARTITION = 14, 8, 3000, 200


def _edit(text: str, rate: float, rng: random.Random) -> str:
    return "".join(chr(rng.randrange(0x4E00, 0x9FA0)) if rng.random() < rate else c for c in text)


def make_docs(factor: int) -> list[dict]:
    files = sorted((SHARED / "law_html/lawegov_2013_sjis/text").glob("*.txt"))
    text = "".join(unicodedata.normalize("NFKC", f.read_text(encoding="utf-8")) for f in files)
    pieces = ["".join(text[i : i + PIECE].split()) for i in range(0, len(text) - PIECE, PIECE)]
    docs = []
    for copy in range(factor):
        for i, piece in enumerate(pieces):
            rng = random.Random(copy * 1_000_003 + i)
            body = _edit(piece, 0.25, rng)
            docs.append({"doc_id": f"{copy:02d}-{i:05d}", "source": "bench", "locator": f"bench:{copy}/{i}", "text": body, "n_chars": len(body)})
            if copy == 0 and i % 10 == 0:
                twin = _edit(body, 0.005, rng)
                docs.append({"doc_id": f"{copy:02d}-{i:05d}t", "source": "bench", "locator": f"bench:{copy}/{i}t", "text": twin, "n_chars": len(twin)})
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


def child(data_dir: Path, workers: int) -> dict:
    """One configuration in a fresh process: Ray signatures, then the runner's near-dedup step."""
    import ray

    from corpus.dedup.minhash import MinHasher
    from corpus.pipeline.near_step import find_near_duplicates
    from corpus.pipeline.runner import init_ray
    from corpus.pipeline.spec import LoadedSpec, parse_spec

    init_ray(None, 2, "hash")
    text_files = sorted(str(p) for p in (data_dir / "texts").glob("*.parquet"))
    n_docs = sum(pq.read_metadata(f).num_rows for f in text_files)
    sig_dir = data_dir / f"sigs-{workers}"
    hasher = MinHasher(B * R, seed=1)
    t0 = time.perf_counter()
    ds = ray.data.read_parquet(text_files, override_num_blocks=len(text_files))
    ds.map_batches(hasher.signature_table, batch_format="pyarrow", batch_size=None, concurrency=workers).write_parquet(str(sig_dir))
    t_sig = time.perf_counter() - t0
    spec = parse_spec(f'[pipeline]\nname="bench"\n[[inputs]]\npath="x"\nsource="bench"\nlicense="x"\n[tokenizer]\nmodel="x"\n[dedup.near]\nenabled=true\nbands={B}\nrows={R}\n')
    loaded = LoadedSpec(spec, data_dir / "spec.toml")
    sig_files = sorted(str(p) for p in sig_dir.glob("*.parquet"))
    tracemalloc.start()
    t0 = time.perf_counter()
    result = find_near_duplicates(sig_files, loaded, set(), {"bench": 0}, workers, min(64, len(sig_files)))
    t_dedup = time.perf_counter() - t0
    _, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    ray.shutdown()
    return {"docs": n_docs, "workers": workers, "signatures_docs_per_s": round(n_docs / t_sig, 1), "dedup_docs_per_s": round(n_docs / t_dedup, 1),
            "removed": result.rejected.num_rows, "edges": result.edges,
            "driver_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "driver_dedup_python_peak_mb": round(py_peak / 2**20, 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 10])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--child", nargs=2, metavar=("DATA_DIR", "WORKERS"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(Path(args.child[0]), int(args.child[1]))))
        return 0
    docs1 = make_docs(1)
    print("1. in-process, 1x documents:")
    cmp = in_process_comparison(docs1)
    print("  ", json.dumps(cmp))
    print("2. Ray: signatures in map_batches workers + the runner's near-dedup step (fresh process each):")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            data = Path(tmp) / f"x{size}"
            (data / "texts").mkdir(parents=True)
            docs = docs1 if size == 1 else make_docs(size)
            for start in range(0, len(docs), PER_PARTITION):
                pq.write_table(pa.Table.from_pylist(docs[start : start + PER_PARTITION]), data / "texts" / f"part-{start // PER_PARTITION:05d}.parquet")
            chars = sum(d["n_chars"] for d in docs)
            del docs
            for workers in args.workers if size == args.sizes[0] else args.workers[-1:]:
                out = subprocess.run([sys.executable, __file__, "--child", str(data), str(workers)], capture_output=True, text=True, check=True)
                row = json.loads(out.stdout.strip().splitlines()[-1])
                print(f"   {size:>2}x ({chars / 1e6:.1f} M chars)", json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
