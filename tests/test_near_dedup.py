"""Near-duplicate removal through the Ray pipeline on the real near-duplicate sets in shared data.

Three small runs share the session's local Ray: the same inputs with one and with two workers,
and an incremental run against the first run's output that resumes from its checkpoints.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus.pipeline.runner import run_pipeline
from corpus.pipeline.spec import load_spec

from conftest import write_spec

LAW = "LicenseRef-JP-Copyright-Art13"
GINKOHO_2013 = "law_html/lawegov_2013_sjis/html/883f2df4157fb4dc.html"  # 銀行法, Dec 2013
NEW_DOC = "law_html/lawegov_2013_sjis/html/bf2a36e69d30a929.html"  # 国際協力銀行法施行令: no duplicate


def _inputs(shared: Path) -> list[tuple[Path, str, str]]:
    return [
        (shared / "near_dup/law_versions_sjis", "lawegov-2015", LAW),
        (shared / GINKOHO_2013, "lawegov-2013", LAW),
        (shared / "near_dup/digital_agency_note_snapshots", "digital-note", "LicenseRef-JP-GSTU-2.0"),
    ]


def _extra(workers: int, reference: Path | None = None) -> str:
    ref = f'reference = "{reference}"\n' if reference else ""
    return (
        f"[dedup.near]\nenabled = true\nbands = 14\nrows = 8\n{ref}[partitioning]\nmax_files = 4\n"
        f"[ray.documents]\nconcurrency = {workers}\n"
    )


def _rows(path: Path) -> list[dict]:
    return [r for f in sorted(path.glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def _group(locator: str) -> str:
    """Which document a file is a version of: the law or article directory (883f... is 銀行法)."""
    return "ginkoho_S56HO059" if "883f2df4157fb4dc" in locator else Path(locator.split(":", 1)[1]).parent.name


@pytest.fixture(scope="module")
def runs(ray_local, shared, tmp_path_factory):
    base = tmp_path_factory.mktemp("near")
    out = {}
    for workers in (1, 2):
        spec = write_spec(base / f"spec{workers}.toml", _inputs(shared), _extra(workers))
        out[workers] = (base / f"out{workers}", run_pipeline(load_spec(spec), base / f"out{workers}").manifest)
    return base, out


def test_near_and_exact_duplicates_point_at_the_surviving_version(runs):
    _, out = runs
    path, manifest = out[1]
    kept = {r["doc_id"]: r for r in _rows(path / "shards")}
    rejected = _rows(path / "rejected")
    assert sorted(_group(r["locator"]) for r in kept.values()) == ["ginkoho_S56HO059", "n3690482b9676", "nf2c340029002", "shikin_kessai_H21HO059"]
    dups = [r for r in rejected if r["stage"] in ("dedup_exact", "dedup_near")]
    assert len(dups) == len(rejected) == 13 - 4
    for r in dups:
        survivor = kept[r["duplicate_of"]]
        assert _group(survivor["locator"]) == _group(r["locator"])
    near = [r for r in dups if r["stage"] == "dedup_near"]
    assert near and all(r["reason"] == "near_duplicate" and 0.5 <= r["value"] <= 1.0 and r["threshold"] == 0.5 for r in near)
    # the 2013 銀行法 is a near duplicate of the longer 2016 text, even though it is an earlier source in the spec
    ginkoho = next(r for r in near if "883f2df4157fb4dc" in r["locator"])
    assert kept[ginkoho["duplicate_of"]]["locator"].endswith("ginkoho_S56HO059/2016-01-30.html")
    for doc in kept.values():
        assert doc["dup_cluster_size"] == 1 + sum(r["duplicate_of"] == doc["doc_id"] for r in dups)
    stages = {s["name"]: s for s in manifest["stages"]}
    assert stages["dedup_near"]["in"] == stages["dedup_exact"]["out"] and stages["dedup_near"]["out"] == len(kept)
    assert manifest["totals"]["accounting_ok"]
    settings = manifest["dedup_near"]["settings"]
    assert (settings["bands"], settings["rows"], settings["num_perm"], settings["shingle"], settings["seed"]) == (14, 8, 112, "char", 1)
    hist = manifest["dedup_near"]["cluster_size_histogram"]
    assert sum(int(k) * v for k, v in hist.items()) == sum(v for v in hist.values()) + len(near)


def test_one_and_two_workers_give_identical_output(runs):
    _, out = runs
    (a, ma), (b, mb) = out[1], out[2]
    for sub in ("shards", "rejected", "signatures"):
        names = sorted(p.name for p in (a / sub).glob("*.parquet"))
        assert names and names == sorted(p.name for p in (b / sub).glob("*.parquet"))
        for n in names:
            assert (a / sub / n).read_bytes() == (b / sub / n).read_bytes(), (sub, n)
    assert ma["dedup_near"] == mb["dedup_near"] and ma["totals"] == mb["totals"]


def test_incremental_run_resumes_signatures_and_never_reships_the_reference(runs, shared):
    base, out = runs
    ref_dir, ref_manifest = out[1]
    ref_kept = {r["doc_id"] for r in _rows(ref_dir / "shards")}
    # A new crawl: the same pages again plus one new page, in a run interrupted after the
    # partitions (their checkpoints, with signatures, are already there).
    new = base / "incremental"
    shutil.copytree(ref_dir / "_work", new / "_work")
    started = time.time()
    inputs = _inputs(shared) + [(shared / NEW_DOC, "lawegov-2013-new", LAW)]
    spec = write_spec(base / "spec_inc.toml", inputs, _extra(2, ref_dir))
    manifest = run_pipeline(load_spec(spec), new).manifest
    kept = _rows(new / "shards")
    assert [r["title"] for r in kept] == ["株式会社国際協力銀行法施行令"]
    near = [r for r in _rows(new / "rejected") if r["stage"] == "dedup_near"]
    assert {r["duplicate_of"] for r in near} == ref_kept  # each points at the earlier corpus's copy
    assert manifest["totals"]["accounting_ok"] and manifest["totals"]["kept"] == 1
    assert manifest["dedup_near"]["reference"] == str(ref_dir)
    assert manifest["volatile"]["resumed_partitions"] >= 3
    sig_files = sorted((new / "_work" / "partitions").glob("*/signatures.parquet"))
    fresh = [f for f in sig_files if f.stat().st_mtime >= started]
    assert len(fresh) == manifest["partitions"] - manifest["volatile"]["resumed_partitions"] == 1
    assert json.loads((new / "manifest.json").read_text(encoding="utf-8"))["dedup_near"]["signatures"][0]["rows"] == 1
    assert ref_manifest["partitions"] == manifest["partitions"]
