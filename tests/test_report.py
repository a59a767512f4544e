"""report.html: self-contained, faithful to the manifest, and actually drawn by a real browser."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.document import rejects_from_rows
from corpus.provenance.report import NEAR_DUP_COLUMN, duplicate_section, render_report
from corpus.provenance.summary import summarize

import shardrun

CHROMIUM = Path("/usr/bin/chromium")
#: matplotlib colours the report draws with: bars of counts, rejections, tokens.
PLOT_COLOURS = {"blue": (31, 119, 180), "red": (214, 39, 40), "green": (44, 160, 44)}


def _figures(out: Path) -> dict:
    """The report figures the run summary computes from the Parquet files in ``out``."""
    listed = lambda sub: [{"path": f"{sub}/{f.name}"} for f in sorted((out / sub).glob("*.parquet"))]  # noqa: E731
    return summarize(str(out), listed("shards"), listed("rejected"))["report"]


@pytest.fixture(scope="module")
def run(ray_local):
    result = shardrun.mixed_run()
    return result.output, result.manifest


def test_report_is_self_contained_deterministic_and_agrees_with_the_manifest(run):
    out, manifest = run
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page == render_report(manifest, _figures(out))  # same run, same bytes (fixed SVG ids, no dates)
    assert "<script" not in page and "<link" not in page and "<img" not in page
    assert not re.search(r'(?:src|href)\s*=\s*"(?:https?:)?//', page)  # nothing fetched from anywhere
    assert page.count("<svg") >= 7
    for title in ("Documents remaining after each stage", "Tokens remaining after each stage", "Rejections by stage and reason",
                  "Tokens per source", "Tokens per licence", "Document length (tokens)", "Document length (characters)"):
        assert title in page
    totals = manifest["totals"]
    for number in (totals["tokens"], totals["documents_in"], manifest["mixing"]["sources"]["chabsa-other"]["downsampled_docs"]):
        assert f"<td>{number:,}</td>" in page
    assert "Near-duplicate clusters by size" in page  # shards always carry dup_cluster_size (1 = no duplicate)


def test_report_shows_near_duplicate_clusters_when_shards_carry_them(run, tmp_path):
    out, manifest = run
    copy = tmp_path / "out"
    shutil.copytree(out / "rejected", copy / "rejected")
    for f in sorted((out / "shards").glob("*.parquet")):
        t = pq.read_table(f)
        sizes = [1 + (len(s) % 3) for s in t.column("title").to_pylist()]  # a stand-in for the near-dup stage
        (copy / "shards").mkdir(parents=True, exist_ok=True)
        t = t.set_column(t.schema.get_field_index(NEAR_DUP_COLUMN), NEAR_DUP_COLUMN, pa.array(sizes, pa.int64()))
        pq.write_table(t, copy / "shards" / f.name)
    page = render_report(manifest, _figures(copy))
    assert "Near-duplicate clusters by size" in page and f"no {NEAR_DUP_COLUMN} column" not in page
    assert "size 3" in page  # the stand-in sizes, not the run's own (all 1)
    for f in sorted((copy / "shards").glob("*.parquet")):  # without the column, the report says so
        pq.write_table(pq.read_table(f).drop_columns([NEAR_DUP_COLUMN]), f)
    assert f"no {NEAR_DUP_COLUMN} column" in render_report(manifest, _figures(copy))


def test_exact_duplicate_clusters_are_sized_from_the_rejections(tmp_path):
    rows = [
        {"doc_id": f"d{i}", "locator": f"file:d{i}", "stage": "dedup_exact", "reason": "exact_duplicate", "duplicate_of": keep}
        for i, keep in enumerate(["a", "a", "b", "c", "c", "c"])
    ]
    (tmp_path / "rejected").mkdir()
    pq.write_table(rejects_from_rows(rows), tmp_path / "rejected" / "dedup_exact.parquet")
    section = duplicate_section(summarize(str(tmp_path), [], [{"path": "rejected/dedup_exact.parquet"}])["report"])
    # Clusters: a (3 copies), b (2), c (4): one cluster of each size.
    assert all(label in section for label in ("2 copies", "3 copies", "4 copies")) and "5 copies" not in section


def _screenshot(page: Path, tmp_path: Path) -> np.ndarray:
    shot = tmp_path / "shot.png"
    cmd = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,2000", page.resolve().as_uri(),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    from PIL import Image

    return np.asarray(Image.open(shot).convert("RGB")).astype(int)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
def test_report_renders_its_plots_in_headless_chromium(run, tmp_path):
    out, _ = run
    pixels = _screenshot(out / "report.html", tmp_path)
    assert pixels.shape[:2] == (2000, 1280)
    non_white = (pixels.min(axis=2) < 235).mean()
    assert non_white > 0.05  # not a blank page
    for name, rgb in PLOT_COLOURS.items():
        mask = (np.abs(pixels - np.array(rgb)).sum(axis=2) < 30)
        assert mask.sum() > 3000, f"no {name} plot marks in the screenshot"
    blue_rows = np.flatnonzero((np.abs(pixels - np.array(PLOT_COLOURS["blue"])).sum(axis=2) < 30).sum(axis=1) > 20)
    bands = {int(r) // 250 for r in blue_rows}
    assert len(bands) >= 3, f"blue plot marks only in bands {sorted(bands)}: plots missing further down the page"
