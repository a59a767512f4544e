"""One real pipeline run shared by the shard, reader and report tests (Ray start-up is costly).

The input is the chABSA securities-report corpus (230 EDINET 有価証券報告書 excerpts, CC BY 4.0)
turned into one HTML page per filing, split into two sources by industry so that mixing has
something to up-sample (finance) and something to down-sample (everything else).
"""

from __future__ import annotations

import atexit
import html
import json
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from corpus.pipeline.runner import RunResult, run_pipeline
from corpus.pipeline.spec import load_spec

from conftest import SHARED, write_spec

FINANCE = {"銀行", "金融（除く銀行）", "不動産"}
TARGET_TOKENS = 20000
TOLERANCE = 0.1
VALIDATION_FRACTION = 0.2
ROW_GROUP_SIZE = 8
MIX_TARGET = 400_000
SOURCES = ("chabsa-finance", "chabsa-other")


def chabsa_pages(out: Path) -> dict[str, Path]:
    """Write each chABSA filing as an HTML page under ``out/<source>/``; returns source -> dir."""
    dirs = {s: out / s for s in SOURCES}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    for f in sorted((SHARED / "finance" / "chabsa").glob("*.json")):
        doc = json.loads(f.read_text(encoding="utf-8"))
        head = doc["header"]
        source = SOURCES[0] if head["category17"] in FINANCE else SOURCES[1]
        paras = "".join(f"<p>{html.escape(s['sentence'])}。</p>\n" for s in doc["sentences"])
        title = html.escape(f"{head['document_name']} {head['doc_text']}")
        page = f'<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>{title}</title></head><body><main><h1>{title}</h1>\n{paras}</main></body></html>'
        (dirs[source] / f"{f.stem}.html").write_text(page, encoding="utf-8")
    return dirs


@lru_cache(maxsize=1)
def mixed_run() -> RunResult:
    """Run the pipeline once per test session (callers must hold the ``ray_local`` fixture)."""
    root = Path(tempfile.mkdtemp(prefix="corpus-shardrun-"))
    atexit.register(shutil.rmtree, root, True)
    dirs = chabsa_pages(root / "inputs")
    extra = (
        f"\n[shards]\ntarget_tokens = {TARGET_TOKENS}\ntolerance = {TOLERANCE}\nvalidation_fraction = {VALIDATION_FRACTION}\n"
        f"row_group_size = {ROW_GROUP_SIZE}\ninput_ids = true\nseed = 7\n"
        f'\n[mixing]\ntarget_tokens = {MIX_TARGET}\nseed = 3\n[mixing.weights]\n"{SOURCES[0]}" = 1.0\n"{SOURCES[1]}" = 1.0\n'
        "\n[partitioning]\nmax_files = 60\n"
    )
    spec = write_spec(root / "spec.toml", [(dirs[s], s, "CC-BY-4.0") for s in SOURCES], extra)
    return run_pipeline(load_spec(spec), root / "out")
