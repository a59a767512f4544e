"""A run killed with SIGKILL midway resumes from its checkpoints and gives the same shards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from corpus.pipeline.runner import run_pipeline
from corpus.pipeline.spec import load_spec

from conftest import REPO, write_spec


def _spec(tmp_path: Path) -> Path:
    sample = REPO / "data" / "sample"
    inputs = [
        (sample / "egov_law_html_2025", "egov", "LicenseRef-JP-Copyright-Art13"),
        (sample / "lawegov_html_2013_sjis", "lawegov", "LicenseRef-JP-Copyright-Art13"),
        (sample / "warc", "crawl", "LicenseRef-JP-Copyright-Art13"),
    ]
    # One file per partition: many checkpoints, so a kill lands between them.
    return write_spec(tmp_path / "spec.toml", inputs, "[partitioning]\nmax_files = 1\n[shards]\ntarget_tokens = 20000\n")


def _cli(spec: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "corpus.cli", "run", str(spec), "--output", str(out)]


def test_killed_run_resumes_without_redoing_finished_partitions(ray_local, tmp_path):
    spec = _spec(tmp_path)
    total = 18  # 5 + 12 HTML files, 1 WARC
    out = tmp_path / "killed"
    proc = subprocess.Popen(_cli(spec, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    done_dir = out / "_work" / "partitions"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(done_dir.glob("*/counts.json"))) >= 3:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)  # the driver only, as a crash would
    proc.wait()
    time.sleep(2)
    finished_before = {p.parent.name for p in done_dir.glob("*/counts.json")}
    assert 3 <= len(finished_before) < total
    assert not (out / "manifest.json").exists()
    prepared = {p: p.stat().st_mtime_ns for p in (out / "_work" / "prepared").glob("*/counts.json")}
    assert len(finished_before) <= len(prepared) < total  # each judged partition was prepared first

    rerun = subprocess.run(_cli(spec, out), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["partitions"] == total
    assert manifest["volatile"]["resumed_partitions"] >= len(finished_before)
    assert manifest["volatile"]["resumed_prepared_partitions"] == len(prepared)  # nothing extracted twice
    assert {p: p.stat().st_mtime_ns for p in prepared} == prepared
    for key in finished_before:  # finished partitions were not redone: their files are untouched
        assert (done_dir / key / "counts.json").stat().st_mtime < manifest_time(out)

    clean = tmp_path / "clean"
    expected = run_pipeline(load_spec(spec), clean).manifest
    assert [s["sha256"] for s in manifest["shards"]] == [s["sha256"] for s in expected["shards"]]
    for shard in expected["shards"]:
        assert (out / shard["path"]).read_bytes() == (clean / shard["path"]).read_bytes()
    assert manifest["totals"] == expected["totals"]


def manifest_time(out: Path) -> float:
    return (out / "manifest.json").stat().st_mtime
