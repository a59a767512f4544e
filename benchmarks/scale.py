"""End-to-end scale: text-in and HTML-in corpora of 10^4-10^6 documents, built from real text.

Run from the repository root (an idle machine; each size is a separate `corpus run`):

    PYTHONPATH=$PWD python benchmarks/scale.py --kind text --docs 10000 100000 1000000
    PYTHONPATH=$PWD python benchmarks/scale.py --kind html --docs 10000 100000

Inputs are recombined from the real Japanese sentences of ../shared/data (e-Gov law texts, chABSA
securities-report sentences, Diet speeches, Aozora literature): each document is a seeded random
run of 6-14 sentences (text-in: JSONL, ~700 characters per document) or 12-30 sentences wrapped in
a page with site chrome (HTML-in: WARC.gz response records, ~2-4 KB of text per page). A known
share is planted: 4% exact copies of an earlier document and 4% near copies (one sentence
replaced), so dedup has real work. Inputs are built once and cached under --cache.

For every size it prints wall time, documents/s, input characters/s per core, the driver's peak
RSS (the `corpus run` process) and the peak RSS of its whole process tree (Ray's processes and
workers included), sampled from /proc every 0.2 s, and the per-document cost relative to the
first size. Results are also appended as JSON lines to --results.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CORPUS_SHARED_DATA", REPO.parent / "shared" / "data"))
EXACT_SHARE, NEAR_SHARE = 0.04, 0.04
DOCS_PER_FILE = {"text": 100_000, "html": 5_000}


def sentences() -> list[str]:
    """Real Japanese sentences (deduplicated, 10-200 characters) from the data kit."""
    texts = [p.read_text(encoding="utf-8") for p in sorted((SHARED / "law_html/lawegov_2013_sjis/text").glob("*.txt"))]
    for p in sorted((SHARED / "finance/chabsa").glob("*.json")):
        texts += [s["sentence"] + "。" for s in json.loads(p.read_text(encoding="utf-8"))["sentences"]]
    for p in sorted((SHARED / "diet/kokkai_api_meeting_xml").glob("*.xml")):
        texts += re.findall(r"<speech>(.*?)</speech>", p.read_text(encoding="utf-8"), flags=re.S)
    for p in sorted((SHARED / "wiki").rglob("*utf8*")):
        texts.append(p.read_text(encoding="utf-8", errors="replace"))
    out = set()
    for t in texts:
        for s in re.split(r"(?<=。)", t.replace("\r", "")):
            s = " ".join(s.split())
            if 10 <= len(s) <= 200:
                out.add(s)
    return sorted(out)


def documents(n: int, pool: list[str], lo: int, hi: int, seed: int = 1):
    """``n`` documents (index, text); 4% exact and 4% near copies of earlier ones, the rest distinct."""
    rng = random.Random(seed)
    made: list[str] = []
    for i in range(n):
        r = rng.random()
        if made and r < EXACT_SHARE:
            text = made[rng.randrange(len(made))]
        elif made and r < EXACT_SHARE + NEAR_SHARE:
            parts = re.split(r"(?<=。)", made[rng.randrange(len(made))])
            parts = [p for p in parts if p]
            parts[rng.randrange(len(parts))] = rng.choice(pool)
            text = "".join(parts)
        else:
            text = "".join(rng.choice(pool) for _ in range(rng.randint(lo, hi)))
        if len(made) < 200_000:
            made.append(text)
        yield i, text


CHROME_TOP = '<header><nav><a href="/">トップページ</a> | <a href="/news/">新着情報</a> | <a href="/about/">組織案内</a></nav></header>'
CHROME_BOTTOM = "<footer><p>このページの先頭へ戻る</p><p>Copyright © 2024 Example Agency. 本ウェブサイトのコンテンツは「政府標準利用規約（第2.0版）」に準拠しています。</p></footer>"


def page(i: int, text: str) -> bytes:
    paras = "".join(f"<p>{s}</p>" for s in re.split(r"(?<=。)", text) if s)
    return (f'<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>お知らせ {i}</title></head><body>{CHROME_TOP}'
            f"<main><article><h1>お知らせ {i}</h1>{paras}</article></main>{CHROME_BOTTOM}</body></html>").encode("utf-8")


def build(kind: str, n: int, cache: Path) -> tuple[Path, int]:
    """The input directory for ``n`` documents of ``kind`` (built once) and its total characters."""
    root = cache / f"{kind}-{n}"
    stamp = root / "BUILT.json"
    if stamp.is_file():
        return root / "input", json.loads(stamp.read_text())["chars"]
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    (root / "input").mkdir(parents=True, exist_ok=True)
    pool = sentences()
    lo, hi = (6, 14) if kind == "text" else (12, 30)
    chars = 0
    per_file = DOCS_PER_FILE[kind]
    out = None
    writer = None
    for i, text in documents(n, pool, lo, hi):
        chars += len(text)
        if i % per_file == 0:
            if out:
                out.close()
            name = f"part-{i // per_file:05d}.{'jsonl' if kind == 'text' else 'warc.gz'}"
            out = open(root / "input" / name, "wb")
            writer = WARCWriter(out, gzip=True) if kind == "html" else None
        if kind == "text":
            out.write((json.dumps({"text": text, "url": f"https://example.invalid/doc/{i}"}, ensure_ascii=False) + "\n").encode("utf-8"))
        else:
            body = page(i, text)
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
            rec = writer.create_warc_record(f"https://www.example.go.jp/news/{i}.html", "response", payload=io.BytesIO(body), http_headers=headers)
            writer.write_record(rec)
    if out:
        out.close()
    stamp.write_text(json.dumps({"docs": n, "chars": chars}))
    return root / "input", chars


def write_spec(path: Path, kind: str, inputs: Path, workers: int | None) -> Path:
    fmt = "jsonl" if kind == "text" else "warc"
    lic = "CC-BY-4.0" if kind == "text" else "LicenseRef-JP-GSTU-2.0"
    ray = f"\n[ray.documents]\nconcurrency = {workers}\n" if workers else ""
    path.write_text(
        f'[pipeline]\nname = "scale-{kind}"\n\n[[inputs]]\npath = "{inputs}"\nsource = "scale-{kind}"\nlicense = "{lic}"\nformat = "{fmt}"\n\n'
        f'[tokenizer]\nmodel = "{REPO / "tokenizer-models" / "sample.model"}"\n\n[dedup.near]\nenabled = true\n\n'
        f"[shards]\ntarget_tokens = 20000000\n\n[partitioning]\nmax_bytes = 16777216\n{ray}",
        encoding="utf-8",
    )
    return path


def _tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _rss(pid: int) -> int:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run(spec: Path, out: Path) -> dict:
    """One `corpus run` in a subprocess, sampling its tree's memory; wall, peaks, the manifest totals."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "corpus.cli", "run", str(spec), "--output", str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peaks = {"driver": 0, "tree": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peaks["driver"] = max(peaks["driver"], _rss(proc.pid))
            peaks["tree"] = max(peaks["tree"], sum(_rss(p) for p in _tree(proc.pid)))
            stop.wait(0.2)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    stop.set()
    th.join()
    if proc.returncode != 0:
        raise SystemExit(f"corpus run failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return {"wall": wall, "driver_peak_rss": peaks["driver"], "tree_peak_rss": peaks["tree"], "totals": m["totals"],
            "workers": m["volatile"].get("workers"), "step_seconds": m["volatile"].get("step_seconds"),
            "stages": {s["name"]: s["rejected"] for s in m["stages"] if s["rejected"]}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kind", choices=["text", "html"], default="text")
    ap.add_argument("--docs", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--workers", type=int, default=None, help="[ray.documents] concurrency (default: one per CPU)")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/corpus-scale"))
    ap.add_argument("--results", type=Path, default=None, help="append one JSON line per size here")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    print(f"{args.kind}-in, {cores} cores; columns: docs, wall s, docs/s, M chars/s per core, driver peak MB, tree peak MB, per-doc cost vs first")
    first = None
    for n in args.docs:
        inputs, chars = build(args.kind, n, args.cache)
        out = args.cache / f"out-{args.kind}-{n}"
        subprocess.run(["rm", "-rf", str(out)], check=True)
        r = run(write_spec(args.cache / f"spec-{args.kind}-{n}.toml", args.kind, inputs, args.workers), out)
        per_doc = r["wall"] / n
        first = first or per_doc
        r.update(kind=args.kind, docs=n, chars=chars, cores=cores, docs_per_s=n / r["wall"], chars_per_s_per_core=chars / r["wall"] / cores)
        print(f"{n:>9,} {r['wall']:8.1f} {r['docs_per_s']:8.0f} {r['chars_per_s_per_core'] / 1e6:6.2f} "
              f"{r['driver_peak_rss'] / 2**20:8.0f} {r['tree_peak_rss'] / 2**20:8.0f} {per_doc / first:6.2f}  kept {r['totals']['kept']:,}; "
              f"steps (s) {r['step_seconds']}", flush=True)
        if args.results:
            with args.results.open("a") as fh:
                fh.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
