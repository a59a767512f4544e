"""The whole pipeline through a local Ray on the bundled sample and on broken inputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from warcio.archiveiterator import ArchiveIterator

from corpus.document import sha256_hex
from corpus.pipeline.runner import run_pipeline
from corpus.pipeline.spec import load_spec
from corpus.io.hashing import file_sha256

from conftest import REPO, SAMPLE_SPEC, write_spec

CONTRACT_COLUMNS = {"doc_id", "text", "n_tokens", "source", "url", "locator", "license"}
REJECT_COLUMNS = {"doc_id", "locator", "stage", "reason", "duplicate_of"}


def _read_dir(path: Path):
    files = sorted(path.glob("*.parquet"))
    return [row for f in files for row in pq.read_table(f).to_pylist()]


#: The progress calls (label, done, total, documents) of the module's sample run, in order.
SAMPLE_PROGRESS: list[tuple[str, int, int, int]] = []


@pytest.fixture(scope="module")
def sample_run(ray_local, tmp_path_factory):
    out = tmp_path_factory.mktemp("sample") / "out"
    result = run_pipeline(load_spec(SAMPLE_SPEC), out, progress=lambda *call: SAMPLE_PROGRESS.append(call))
    return out, result.manifest


def test_progress_lines_start_at_zero_and_count_every_task_and_document(sample_run):
    _, manifest = sample_run
    for label, tasks in (("documents", manifest["partitions"]), ("shards", len(manifest["shards"]))):
        calls = [c for c in SAMPLE_PROGRESS if c[0] == label]
        # the clock starts before any task finishes (0 of total), then one call per finished task
        assert [c[1] for c in calls] == list(range(tasks + 1)) and all(c[2] == tasks for c in calls)
    docs = [c[3] for c in SAMPLE_PROGRESS if c[0] == "documents"]
    assert docs[0] == 0 and docs == sorted(docs) and docs[-1] == manifest["totals"]["documents_in"]


def test_sample_output_contract_and_accounting(sample_run):
    out, manifest = sample_run
    kept = _read_dir(out / "shards")
    rejected = _read_dir(out / "rejected")
    assert kept and rejected
    assert CONTRACT_COLUMNS <= set(kept[0]) and REJECT_COLUMNS <= set(rejected[0])
    totals = manifest["totals"]
    assert totals["accounting_ok"]
    assert totals["documents_in"] == len(kept) + len(rejected) == totals["kept"] + totals["rejected"]
    assert len({r["doc_id"] for r in kept + rejected}) == len(kept) + len(rejected)
    for stage in manifest["stages"]:
        assert stage["in"] == stage["out"] + sum(stage["rejected"].values())
    assert totals["tokens"] == sum(r["n_tokens"] for r in kept) == sum(s["tokens"] for s in manifest["shards"])
    for shard in manifest["shards"]:
        assert file_sha256(out / shard["path"]) == shard["sha256"]
        assert pq.read_metadata(out / shard["path"]).num_rows == shard["docs"]
    assert manifest["pipeline"]["spec_sha256"] and manifest["tokenizer"]["sha256"]
    assert {i["sha256"] for i in manifest["inputs"]} and all(i["bytes"] > 0 for i in manifest["inputs"])
    for lib in ("ray", "pyarrow", "trafilatura", "fugashi", "sentencepiece", "datasketch"):
        assert manifest["libraries"][lib] != "not installed"


def test_sample_mirror_copy_is_an_exact_duplicate_of_the_kept_page(sample_run):
    out, _ = sample_run
    kept = {r["doc_id"]: r for r in _read_dir(out / "shards")}
    dups = [r for r in _read_dir(out / "rejected") if r["reason"] == "exact_duplicate"]
    assert len(dups) == 1
    dup = dups[0]
    assert "lawegov_html_2013_nov_mirror" in dup["locator"]
    assert dup["duplicate_of"] in kept and "lawegov_html_2013_sjis" in kept[dup["duplicate_of"]]["locator"]


def test_sample_near_duplicate_capture_points_at_the_kept_capture(sample_run):
    out, manifest = sample_run
    kept = {r["doc_id"]: r for r in _read_dir(out / "shards")}
    near = [r for r in _read_dir(out / "rejected") if r["stage"] == "dedup_near"]
    assert len(near) == 1 and near[0]["reason"] == "near_duplicate"
    survivor = kept[near[0]["duplicate_of"]]
    assert survivor["title"] == "資金決済に関する法律" and survivor["locator"].startswith("warc:")
    assert near[0]["url"] == survivor["url"] and near[0]["locator"] != survivor["locator"]
    assert 0.9 < near[0]["value"] <= 1.0 and near[0]["threshold"] == 0.5
    assert survivor["dup_cluster_size"] == 2
    stage = next(s for s in manifest["stages"] if s["name"] == "dedup_near")
    assert stage == {"name": "dedup_near", "in": stage["out"] + 1, "out": len(kept), "rejected": {"near_duplicate": 1}}
    assert manifest["dedup_near"]["cluster_size_histogram"] == {"2": 1}
    assert sum(e["rows"] for e in manifest["dedup_near"]["signatures"]) == len(kept)


def test_sample_shift_jis_pages_come_out_as_japanese(sample_run):
    out, _ = sample_run
    kept = _read_dir(out / "shards")
    sjis = [r for r in kept if r["charset"] == "cp932"]
    assert len(sjis) >= 5
    assert all("\ufffd" not in r["text"] for r in kept)
    titles = {r["title"] for r in sjis}
    assert "株式会社国際協力銀行法施行令" in titles and "資金決済に関する法律" in titles


def test_sample_warc_locators_open_the_exact_record(sample_run):
    out, manifest = sample_run
    warc_docs = [r for r in _read_dir(out / "shards") if r["locator"].startswith("warc:")]
    assert len(warc_docs) == 2  # of 3 records: one 資金決済法 capture is a near-duplicate
    for doc in warc_docs:
        path, offset = doc["locator"][len("warc:"):].rsplit("#", 1)
        assert path == "law-egov-2015.warc.gz"  # recorded relative to the input (here the file itself)
        with open(REPO / manifest["input_roots"][path], "rb") as fh:
            fh.seek(int(offset))
            record = next(iter(ArchiveIterator(fh)))
            assert record.rec_headers.get_header("WARC-Target-URI") == doc["url"]
            assert sha256_hex(record.content_stream().read()) == doc["raw_sha256"]


def test_sample_rejections_carry_rule_value_and_threshold(sample_run):
    out, _ = sample_run
    quality = [r for r in _read_dir(out / "rejected") if r["stage"] == "quality"]
    assert quality
    for r in quality:
        assert r["rule"] == r["reason"] and r["value"] is not None
        assert r["value"] < r["threshold"]  # every basic rule is a minimum


def test_same_inputs_give_byte_identical_output(sample_run, tmp_path):
    out_a, manifest_a = sample_run
    out_b = tmp_path / "again"
    # The spec named by a relative path this time (the first run used an absolute one): doc_ids hash
    # the recorded input paths, which must not depend on how the spec path was spelled.
    assert Path.cwd() == REPO and SAMPLE_SPEC.is_absolute()
    manifest_b = run_pipeline(load_spec(Path("pipelines/sample.toml")), out_b).manifest
    files_a = sorted(p.relative_to(out_a) for p in out_a.rglob("*.parquet") if "_work" not in p.parts)
    files_b = sorted(p.relative_to(out_b) for p in out_b.rglob("*.parquet") if "_work" not in p.parts)
    assert files_a == files_b and files_a
    for rel in files_a:
        assert (out_a / rel).read_bytes() == (out_b / rel).read_bytes(), rel
    manifest_a, manifest_b = dict(manifest_a), dict(manifest_b)
    assert manifest_a.pop("volatile") != manifest_b.pop("volatile")
    assert json.dumps(manifest_a, sort_keys=True) == json.dumps(manifest_b, sort_keys=True)
    assert manifest_a["inputs"][0]["path"].startswith("egov_law_html_2025/")
    assert manifest_a["input_roots"]["egov_law_html_2025"] == "data/sample/egov_law_html_2025"


def test_broken_inputs_are_rejected_and_good_documents_are_unaffected(ray_local, shared, tmp_path):
    data = tmp_path / "inputs"
    data.mkdir()
    good = shared / "law_html/lawegov_2013_sjis/html/bf2a36e69d30a929.html"
    shutil.copy(good, data / "good.html")
    (data / "empty.html").write_bytes(b"")
    (data / "binary.html").write_bytes((shared / "finance/cpa_audit/CPA_AUDIT.xlsx").read_bytes())
    cc = (shared / "warc/commoncrawl_whirlwind/whirlwind.warc.gz").read_bytes()
    (data / "truncated.warc.gz").write_bytes(cc[:9000])
    shutil.copy(shared / "warc/warcio_fixtures/example-bad-non-chunked.warc.gz", data / "bad.warc.gz")
    shutil.copy(shared / "warc/warcio_fixtures/example-space-in-target-uri.warc.gz", data / "image.warc.gz")
    spec = write_spec(tmp_path / "spec.toml", [(good, "unused", "unused")])
    result = run_pipeline(load_spec(spec, [str(data)]), tmp_path / "out")
    kept = _read_dir(tmp_path / "out" / "shards")
    rejected = _read_dir(tmp_path / "out" / "rejected")
    assert [r["title"] for r in kept] == ["株式会社国際協力銀行法施行令"]
    assert kept[0]["source"] == "cli-input" and kept[0]["license"] == "NOASSERTION"
    reasons = sorted((Path(r["locator"].split(":", 1)[1].split("#")[0]).name, r["reason"]) for r in rejected)
    assert reasons == [
        ("bad.warc.gz", "warc_not_chunked"),  # several records in one gzip member: their offsets cannot reopen them
        ("binary.html", "binary_content"),
        ("empty.html", "empty_input"),
        ("image.warc.gz", "unsupported_content_type"),
        ("truncated.warc.gz", "warc_truncated_record"),
    ]
    assert result.manifest["totals"]["accounting_ok"]
    assert result.manifest["totals"]["documents_in"] == 6
