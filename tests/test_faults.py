"""Fault injection: a hostile corpus mixed with good documents, through real `corpus run`s on local Ray.

tests/hostile.py writes two trees: the good documents alone (with a clean twin of every hostile
container), and the same good documents mixed with 64 kinds of hostile input (bombs of
every container, lying WARC lengths and digests, entity-laden XML of each kind, unreadable,
looping and dangling paths, a FIFO, a page that keeps trafilatura busy far past the timeout, ...).
Both trees are run once, each as a `corpus run` subprocess whose whole process tree is measured
from /proc. Then:

* every good document comes out of the mixed run exactly as it does from the good run alone;
* every hostile record is a rejection with the expected stage and reason, every hostile path is in
  the manifest's ``skipped_inputs`` with its reason, and nothing of /etc/passwd reaches the output;
* ``documents_in == kept + rejected`` equals the number of records in the inputs, counted as they
  were written (not by the pipeline's readers);
* the mixed run's memory (the whole tree, and the largest process of each role: driver, Ray
  worker, extraction child) exceeds the good run's by less than ``BUDGET``, though each bomb
  inflates to 128-256 times the limit;
* the stuck page's extraction child is killed and the worker goes on with a fresh one;
* ``corpus audit`` passes on the mixed run's output.

As root (where ``chmod 000`` denies nothing) both runs are started through ``setpriv`` without the
two capabilities that bypass file permissions (tests/unprivileged.py).
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus.pipeline.spec import LicensePolicySpec
from corpus.provenance.audit import audit

import hostile
import unprivileged
from conftest import REPO, write_spec
from proctree import Measured, run_measured

MiB = hostile.MiB
#: What the mixed run may add to the good run's peak memory (per role, and twice this for the tree):
#: a few copies of a document at the limit, the DOM trafilatura builds for the stuck page (a flat
#: ~90 MiB for its 527 KB of 20,000 blocks, reached within a second), and the noise of two runs of
#: different inputs (the extraction child that meets the stuck page has read other pages first:
#: measured +88 to +102 MiB). Every bomb inflates to 128-256 x the limit: read whole (Arrow page
#: and Python string for the 128 MiB Parquet cell), each exceeds this.
BUDGET = 8 * hostile.LIMIT + 160 * MiB
#: Columns that depend on a record's position in its file (WARC offsets, JSONL line numbers),
#: which a clean twin cannot share with its hostile original.
POSITIONAL = {"doc_id", "locator", "duplicate_of"}


@dataclass
class Run:
    out: Path
    measured: Measured
    manifest: dict
    kept: list[dict]
    rejected: list[dict]


def _spec(tree: Path) -> Path:
    extra = (
        f"[limits]\nmax_document_bytes = {hostile.LIMIT}\nmax_line_bytes = {hostile.LIMIT}\n"
        f"[extract]\ntimeout_seconds = {hostile.TIMEOUT}\n"
        "[partitioning]\nmax_files = 8\n"
        "[shards]\ntarget_tokens = 200000\n"
        "[license_policy]\nallow_unknown_for_training = true\n"
        f"allowed = {json.dumps([*LicensePolicySpec().allowed, 'LicenseRef-JP-Kokkai-Art40'])}\n"
    )
    return write_spec(tree / "spec.toml", [(tree / "inputs", "faults", "NOASSERTION")], extra)


def _rows(folder: Path) -> list[dict]:
    return [r for f in sorted(folder.glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def _run(tree: Path, prefix: list[str]) -> Run:
    out = tree / "out"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    cmd = [*prefix, sys.executable, "-m", "corpus.cli", "run", str(_spec(tree)), "--output", str(out)]
    measured = run_measured(cmd, REPO, env, timeout=600)
    assert measured.returncode == 0, measured.stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return Run(out, measured, manifest, _rows(out / "shards"), _rows(out / "rejected"))


@pytest.fixture(scope="module")
def runs(shared, tmp_path_factory):
    prefix = unprivileged.prefix()
    root = tmp_path_factory.mktemp("faults")
    corpus = hostile.build(shared, root, unreadable=prefix is not None)
    try:
        good = _run(corpus.good, prefix or [])
        mixed = _run(corpus.mixed, prefix or [])
        yield corpus, good, mixed
    finally:
        hostile.restore_permissions(root)


def _file_of(locator: str) -> str:
    """The recorded input path in a locator (``warc:inputs/x.warc.gz#123/ABC`` -> ``inputs/x.warc.gz``)."""
    return locator.split(":", 1)[1].split("#", 1)[0]


def _projection(row: dict, ignore: frozenset[str] = frozenset()) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in row.items() if k not in POSITIONAL | ignore))


def _by_file(rows: list[dict], key) -> dict[str, Counter]:
    out: dict[str, Counter] = {}
    for r in rows:
        out.setdefault(_file_of(r["locator"]), Counter())[key(r)] += 1
    return out


def test_every_record_in_the_inputs_is_kept_or_rejected(runs):
    corpus, good, mixed = runs
    assert len({c.kind for c in corpus.cases}) >= 30
    for run, records in ((good, corpus.good_records), (mixed, corpus.mixed_records)):
        t = run.manifest["totals"]
        assert t["accounting_ok"] and t["documents_in"] == t["kept"] + t["rejected"]
        assert t["documents_in"] == records, "documents_in differs from the records written into the inputs"
        assert len(run.rejected) == t["rejected"] and t["kept"] == sum(1 for r in run.kept if r.get("copy", 0) == 0)
    report = audit(mixed.out)
    assert report.ok, [str(f) for f in report.findings]


def test_good_documents_come_out_as_they_do_without_the_hostile_ones(runs):
    corpus, good, mixed = runs
    differs = {f"inputs/{c.path}": c.differs for c in corpus.cases if c.differs}
    assert len(differs) == 4  # internal entities of both XML kinds, two mislabelled charsets: read, not rejected

    def kept(run: Run) -> dict[str, Counter]:
        out: dict[str, Counter] = {}
        for r in run.kept:
            path = _file_of(r["locator"])
            out.setdefault(path, Counter())[_projection(r, differs.get(path, frozenset()))] += 1
        return out

    good_kept, mixed_kept = kept(good), kept(mixed)
    assert sum(sum(c.values()) for c in good_kept.values()) >= 30  # the comparison is about real documents
    assert set(differs) <= set(good_kept)
    assert mixed_kept == good_kept, sorted(p for p in set(good_kept) | set(mixed_kept) if good_kept.get(p) != mixed_kept.get(p))
    # documents the good run rejects (quality, licence) are rejected the same way in the mixed run
    decision = lambda r: (r["stage"], r["reason"], r["rule"], r["value"], r["threshold"], r["url"])  # noqa: E731
    good_rej, mixed_rej = _by_file(good.rejected, decision), _by_file(mixed.rejected, decision)
    for path, rows in good_rej.items():
        assert not rows - mixed_rej.get(path, Counter()), f"{path}: a good document's rejection changed"
    (euc,) = [r for r in mixed.kept if _file_of(r["locator"]) == "inputs/html/undeclared-eucjp.html"]
    assert euc["charset"] == "euc_jp" and euc["charset_evidence"] == "detected"


def test_every_hostile_record_is_a_rejection_with_its_reason(runs):
    corpus, good, mixed = runs
    stage_reason = lambda r: (r["stage"], r["reason"])  # noqa: E731
    good_rej, mixed_rej = _by_file(good.rejected, stage_reason), _by_file(mixed.rejected, stage_reason)
    for case in corpus.cases:
        if case.skipped:
            continue
        path = f"inputs/{case.path}"
        got = mixed_rej.get(path, Counter()) - good_rej.get(path, Counter())
        assert got == case.rejections, f"{case.kind} ({path})"
    too_large = [r for r in mixed.rejected if r["reason"] == "too_large"]
    assert len(too_large) == sum(n for c in corpus.cases for (_, reason), n in c.rejections.items() if reason == "too_large") == 9
    for r in too_large:  # each says which setting stopped it, at the spec's limit, and how much was seen
        # (pypdf stops a stream at the limit itself: a PDF's value is the limit, the others' are past it)
        assert r["rule"] in ("max_document_bytes", "max_line_bytes") and r["threshold"] == hostile.LIMIT, r
        assert r["value"] > hostile.LIMIT or (r["value"] == hostile.LIMIT and ".pdf" in (r["url"] or r["locator"])), r
    (timeout,) = [r for r in mixed.rejected if r["reason"] == "extraction_timeout"]
    assert timeout["value"] == hostile.TIMEOUT and f"{hostile.TIMEOUT:g}s" in timeout["detail"]
    # the stuck page's extraction process was killed, and its worker went on to the records after it
    # in the same WARC with a fresh one: one worker had two extraction children, every other one
    good_children, mixed_children = good.measured.peak.children("sandbox"), mixed.measured.peak.children("sandbox")
    assert set(good_children.values()) == {1} and sorted(mixed_children.values())[-2:] in ([1, 2], [2]), (good_children, mixed_children)
    everything = "".join(p.read_text(errors="replace") for p in mixed.out.rglob("*") if p.is_file() and p.suffix in (".json", ".md", ".html"))
    everything += repr(mixed.kept) + repr(mixed.rejected)
    assert hostile.SECRET not in everything


def test_unreadable_looping_and_dangling_paths_are_listed_with_a_reason(runs):
    corpus, _, mixed = runs
    skipped = {s["path"]: s["reason"] for s in mixed.manifest["skipped_inputs"]}
    expected = {f"inputs/{c.path}": c.skipped for c in corpus.cases if c.skipped}
    if unprivileged.prefix() is None:
        pytest.skip("running as root without setpriv: no file can be made unreadable")
    assert "inputs/paths/unreadable.html" in expected and "inputs/paths/locked" in expected
    assert sorted(skipped) == sorted(expected)
    for path, fragment in expected.items():
        assert fragment in skipped[path], (path, skipped[path])
    assert f"skipped {len(expected)} input path(s)" in mixed.measured.stderr


def test_memory_of_the_whole_process_tree_stays_bounded(runs):
    _, good, mixed = runs
    g, m = good.measured.peak, mixed.measured.peak
    assert m.samples > 20 and g.samples > 20
    roles_g, roles_m = g.by_role(), m.by_role()
    report = (f"tree peak (sum of RSS): good {g.tree_rss / MiB:.0f} MiB, mixed {m.tree_rss / MiB:.0f} MiB; largest process per role: "
              + ", ".join(f"{r} {roles_g.get(r, 0) / MiB:.0f} -> {roles_m[r] / MiB:.0f} MiB" for r in sorted(roles_m)))
    print(report)
    assert {"driver", "ray::_Worker", "sandbox"} <= set(roles_m)
    assert m.tree_rss < g.tree_rss + 2 * BUDGET, report  # the tree also holds Ray's idle processes, which vary more
    for role in ("driver", "ray::_Worker", "sandbox"):  # where a bomb would be held: reader, stages, extraction
        assert roles_m[role] < roles_g[role] + BUDGET, report


def test_a_changed_limit_is_a_new_prepare_checkpoint(tmp_path):
    """A document rejected as too_large under one limit may be read under another: a re-run with a
    different ``[limits]`` must not reuse partitions read under the old one."""
    from corpus.pipeline.build import prepare_config_sha256
    from corpus.pipeline.spec import load_spec

    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a.txt").write_text("本文", encoding="utf-8")
    keys = set()
    for limit in (1 << 20, 2 << 20):
        spec = write_spec(tmp_path / f"spec-{limit}.toml", [(inputs, "s", "NOASSERTION")], f"[limits]\nmax_document_bytes = {limit}\n")
        keys.add(prepare_config_sha256(load_spec(spec)))
    assert len(keys) == 2
