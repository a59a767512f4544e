"""Provenance end to end: two real pipeline runs (the sample, and real pages in real licence footers),
then audit, inspect, schemas, datasheet and Croissant on their output, and audits of tampered copies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlcroissant as mlc
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from corpus.cli import main
from corpus.pipeline.runner import run_pipeline
from corpus.pipeline.spec import load_spec
from corpus.provenance.audit import audit
from corpus.provenance.croissant import missing_required
from corpus.provenance.inspect import format_lineage, lineage
from corpus.provenance.schemas import validate_object, validate_parquet

from conftest import SAMPLE_SPEC, write_spec
from dressed import PAGES, write_dressed_warc


@pytest.fixture(scope="module")
def sample_out(ray_local, tmp_path_factory):
    out = tmp_path_factory.mktemp("prov-sample") / "out"
    run_pipeline(load_spec(SAMPLE_SPEC), out)
    return out


@pytest.fixture(scope="module")
def dressed_out(ray_local, shared, tmp_path_factory):
    base = tmp_path_factory.mktemp("prov-dressed")
    warc = write_dressed_warc(shared, base / "dressed.warc.gz")
    spec = write_spec(base / "spec.toml", [(warc, "gov-pages-2021", "NOASSERTION")], '[license_policy]\non_conflict = "reject"\n')
    out = base / "out"
    run_pipeline(load_spec(spec), out)
    return out


@pytest.fixture
def copy_of(sample_out, tmp_path):
    def make() -> Path:
        dst = tmp_path / "copy"
        shutil.copytree(sample_out, dst, ignore=shutil.ignore_patterns("_work"))
        return dst
    return make


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def _rewrite(path: Path, table: pa.Table) -> None:
    pq.write_table(table, path, compression="zstd")


# --- untouched outputs -------------------------------------------------------------------------

def test_untouched_sample_output_audits_clean_and_cli_exits_zero(sample_out, capsys):
    report = audit(sample_out)
    assert report.ok, [str(f) for f in report.findings]
    assert len(report.checks) >= 6
    assert main(["audit", str(sample_out)]) == 0
    assert "OK: no discrepancies" in capsys.readouterr().out


def test_every_written_file_matches_its_json_schema(sample_out):
    m = _manifest(sample_out)
    assert validate_object("manifest", m, "manifest.json") == []
    assert m["shards"] and m["rejected_files"]
    for s in m["shards"]:
        assert validate_parquet("shard", str(sample_out / s["path"]), s["path"]) == []
    for r in m["rejected_files"]:
        assert validate_parquet("rejected", str(sample_out / r["path"]), r["path"]) == []
    for f in m["provenance"]["documents"]["files"]:
        assert validate_parquet("provenance", str(sample_out / f["path"]), f["path"]) == []
    croissant = json.loads((sample_out / "croissant.json").read_text(encoding="utf-8"))
    assert validate_object("croissant", croissant, "croissant.json") == []
    # and the schemas are not vacuous: a shard row without its licence flags fails
    row = pq.read_table(sample_out / m["shards"][0]["path"]).slice(0, 1).to_pylist()[0]
    del row["train_ok"]
    row["doc_id"] = "not-hex"
    errors = validate_object("shard", row, "row")
    assert any("train_ok" in e for e in errors) and any("doc_id" in e for e in errors)


def test_sample_manifest_records_licences_policy_and_provenance(sample_out):
    m = _manifest(sample_out)
    lic = m["licenses"]
    kept = pq.read_table(sample_out / "provenance/documents-00000.parquet").filter(pc.equal(pc.field("status"), "kept"))
    assert lic["by_license"] == {"LicenseRef-JP-Copyright-Art13": {
        "docs": m["totals"]["kept"], "tokens": m["totals"]["tokens"], "train_ok": m["totals"]["kept"],
        "redistribute_ok": m["totals"]["kept"], "commercial_ok": m["totals"]["kept"]}}
    shard_rows = sum(pq.read_metadata(sample_out / s["path"]).num_rows for s in m["shards"])
    assert lic["policy"]["require_redistribution"] is True and lic["redistribute_ok"]["docs"] == kept.num_rows == shard_rows > 0
    assert lic["registry"]["licenses"]["LicenseRef-JP-Copyright-Art13"]["legal_basis"] == "art13_public"
    assert [s["name"] for s in m["stages"]][:3] == ["read", "license", "extract"]
    prov = pq.read_table(sample_out / "provenance/documents-00000.parquet")
    rejected_rows = sum(pq.read_metadata(sample_out / r["path"]).num_rows for r in m["rejected_files"])
    assert prov.num_rows == m["totals"]["documents_in"] == shard_rows + rejected_rows
    assert set(prov.column("status").to_pylist()) == {"kept", "rejected"}


def test_attribution_lists_every_kept_source_with_its_licence(sample_out):
    text = (sample_out / "ATTRIBUTION.md").read_text(encoding="utf-8")
    kept = pq.read_table(sample_out / "provenance/documents-00000.parquet").filter(pc.equal(pc.field("status"), "kept")).to_pylist()
    for r in kept:
        assert f"## {r['source']} — {r['license']}" in text
        assert r["attribution"] and r["attribution"] in text
    assert "著作権法第13条" in text


def test_datasheet_answers_osaid_data_information_from_the_records(sample_out):
    m = _manifest(sample_out)
    text = (sample_out / "datasheet.md").read_text(encoding="utf-8")
    for heading in ("Provenance of the data", "Scope and characteristics", "How the data was obtained",
                    "How the data was selected", "Labelling procedures", "Processing and filtering",
                    "Publicly available data and where to obtain it", "Data obtainable from third parties", "Code and how to re-run"):
        assert heading in text
    t = m["totals"]
    assert f"documents in {t['documents_in']} = kept {t['kept']} + rejected {t['rejected']}" in text
    assert m["code"]["git_commit"] in text and m["pipeline"]["spec_sha256"] in text
    for rule in m["quality_profile"]["rules"]:
        assert f"| {rule['name']} | {rule['signal']} | {rule['bound']} | {rule['threshold']} |" in text
    for s in m["shards"]:
        assert s["sha256"] in text
    for inp in {i["source"] for i in m["inputs"]}:
        assert inp in text


def test_mlcroissant_validates_and_iterates_the_sample_croissant(sample_out):
    ds = mlc.Dataset(jsonld=str(sample_out / "croissant.json"))
    records = list(ds.records("docs"))
    shard_ids = {r["doc_id"] for s in _manifest(sample_out)["shards"] for r in pq.read_table(sample_out / s["path"], columns=["doc_id"]).to_pylist()}
    got = {(r["docs/doc_id"].decode() if isinstance(r["docs/doc_id"], bytes) else r["docs/doc_id"]) for r in records}
    assert got == shard_ids and len(records) == len(shard_ids) > 0
    doc = json.loads((sample_out / "croissant.json").read_text(encoding="utf-8"))
    objects = [d for d in doc["distribution"] if d["@type"] == "cr:FileObject"]
    assert {o["sha256"] for o in objects} == {s["sha256"] for s in _manifest(sample_out)["shards"]}
    assert doc["rai:dataCollection"] and doc["rai:dataPreprocessingProtocol"] and missing_required(doc) == []


def test_project_checks_croissant_required_properties_that_mlcroissant_does_not(sample_out, tmp_path):
    doc = json.loads((sample_out / "croissant.json").read_text(encoding="utf-8"))
    for key in ("license", "creator", "datePublished"):
        doc.pop(key)
    path = sample_out / "croissant-stripped.json"
    try:
        path.write_text(json.dumps(doc), encoding="utf-8")
        mlc.Dataset(jsonld=str(path))  # mlcroissant still accepts it (warnings only)
    finally:
        path.unlink()
    assert missing_required(doc) == ["license", "creator", "datePublished"]


def test_inspect_shows_a_kept_and_a_dropped_documents_lineage(sample_out, capsys):
    prov = pq.read_table(sample_out / "provenance/documents-00000.parquet").to_pylist()
    dup = next(r for r in prov if r["drop_reason"] == "exact_duplicate")
    kept = next(r for r in prov if r["doc_id"] == dup["duplicate_of"])
    rec = lineage(sample_out, kept["doc_id"][:12])
    assert rec["status"] == "kept" and rec["shard_row_verified"] is True
    shard_row = pq.read_table(sample_out / rec["shard"]).slice(rec["row"], 1).to_pylist()[0]
    assert shard_row["doc_id"] == kept["doc_id"] and shard_row["raw_sha256"] == rec["raw_sha256"]
    stages = {s["stage"]: s for s in rec["stages"]}
    assert stages["quality"]["scores"]["q_n_chars"] == shard_row["q_n_chars"]
    assert stages["license"]["scores"]["license"] == "LicenseRef-JP-Copyright-Art13"
    assert main(["inspect", str(sample_out), dup["doc_id"]]) == 0
    out = capsys.readouterr().out
    assert "REJECTED" in out and f"dropped at  dedup_exact: exact_duplicate, duplicate of {kept['doc_id']}" in out
    assert main(["inspect", str(sample_out), "ffffffffffff"]) == 1


# --- the licence decisions survive the whole pipeline -------------------------------------------

def test_dressed_pages_kept_and_rejected_by_licence_through_the_pipeline(dressed_out):
    m = _manifest(dressed_out)
    prov = {r["url"]: r for r in pq.read_table(dressed_out / "provenance/documents-00000.parquet").to_pylist()}
    arr = prov[PAGES["fsa_all_rights_reserved"][1]]
    assert (arr["status"], arr["drop_stage"], arr["drop_reason"]) == ("rejected", "license", "license_conflict")
    assert "無断転載を禁じます" in arr["license_evidence"] and "source_registry:fsa" in arr["license_evidence"]
    assert prov[PAGES["mof_mentions_gstu_only"][1]]["drop_reason"] == "unknown_license"
    assert prov[PAGES["boj_page"][1]]["drop_reason"] == "license_not_allowed"
    gstu, ccby = prov[PAGES["mof_gstu"][1]], prov[PAGES["lab_cc_by"][1]]
    assert (gstu["status"], gstu["license"]) == ("kept", "LicenseRef-JP-GSTU-2.0")
    assert (ccby["status"], ccby["license"]) == ("kept", "CC-BY-4.0")
    assert m["licenses"]["rejected_by_reason"] == {"license_conflict": 1, "license_not_allowed": 1, "unknown_license": 1}
    assert set(m["licenses"]["by_license"]) == {"LicenseRef-JP-GSTU-2.0", "CC-BY-4.0"}
    attribution = (dressed_out / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "## gov-pages-2021 — LicenseRef-JP-GSTU-2.0" in attribution and "## gov-pages-2021 — CC-BY-4.0" in attribution
    assert gstu["attribution"] in attribution and PAGES["mof_gstu"][1] in attribution
    assert audit(dressed_out).ok, [str(f) for f in audit(dressed_out).findings]
    text = format_lineage(lineage(dressed_out, arr["doc_id"]))
    assert "no_reproduction" in text and "dropped at  license: license_conflict" in text


# --- tampering: each change is named ------------------------------------------------------------

def test_flipped_byte_in_a_shard_is_named(copy_of, capsys):
    out = copy_of()
    shard = out / _manifest(out)["shards"][0]["path"]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x01
    shard.write_bytes(bytes(data))
    report = audit(out)
    assert "shard_sha256_mismatch" in report.codes() and "croissant_sha256" in report.codes()
    assert any(f.where == _manifest(out)["shards"][0]["path"] for f in report.findings)
    assert main(["audit", str(out)]) == 1
    assert "shard_sha256_mismatch" in capsys.readouterr().out


def test_deleted_shard_row_is_named(copy_of):
    out = copy_of()
    entry = _manifest(out)["shards"][1]
    table = pq.read_table(out / entry["path"])
    _rewrite(out / entry["path"], table.slice(1))
    codes = audit(out).codes()
    assert {"shard_sha256_mismatch", "shard_rows_mismatch", "shard_tokens_mismatch", "kept_count_mismatch", "provenance_mismatch"} <= codes


def test_changed_licence_is_named(copy_of):
    out = copy_of()
    entry = _manifest(out)["shards"][0]
    table = pq.read_table(out / entry["path"])
    lic = table.column("license").to_pylist()
    lic[0] = "LicenseRef-AllRightsReserved"
    _rewrite(out / entry["path"], table.set_column(table.schema.get_field_index("license"), "license", pa.array(lic)))
    report = audit(out)
    assert {"license_not_allowed", "license_evidence", "license_summary_mismatch", "shard_sha256_mismatch"} <= report.codes()
    assert any(f.code == "license_not_allowed" and "row 0" in f.where and "license_not_allowed" in f.message for f in report.findings)


def test_deleted_rejected_file_is_named(copy_of):
    out = copy_of()
    entry = next(e for e in _manifest(out)["rejected_files"] if "dedup_exact" in e["path"])
    (out / entry["path"]).unlink()
    report = audit(out)
    assert {"rejected_file_missing", "rejected_count_mismatch", "provenance_mismatch"} <= report.codes()
    assert any(f.code == "rejected_count_mismatch" and "dedup_exact" in f.where for f in report.findings)


def test_deleted_rejection_record_is_named(copy_of):
    out = copy_of()
    entry = next(e for e in _manifest(out)["rejected_files"] if e["rows"] >= 2)
    table = pq.read_table(out / entry["path"])
    _rewrite(out / entry["path"], table.slice(1))
    codes = audit(out).codes()
    assert {"rejected_file_sha256_mismatch", "rejected_file_rows_mismatch", "rejected_count_mismatch"} <= codes


def test_edited_manifest_count_is_named(copy_of):
    out = copy_of()
    m = _manifest(out)
    next(s for s in m["stages"] if s["name"] == "quality")["rejected"]["min_chars"] -= 1
    m["totals"]["kept"] += 1
    (out / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    codes = audit(out).codes()
    assert {"stage_accounting", "totals_mismatch", "rejected_count_mismatch", "kept_count_mismatch"} <= codes


def test_croissant_attribution_and_unlisted_files_are_checked(copy_of):
    out = copy_of()
    doc = json.loads((out / "croissant.json").read_text(encoding="utf-8"))
    doc.pop("license")
    doc["distribution"][0]["sha256"] = "0" * 64
    (out / "croissant.json").write_text(json.dumps(doc), encoding="utf-8")
    (out / "ATTRIBUTION.md").write_text("# Attribution\n", encoding="utf-8")
    shutil.copy(out / _manifest(out)["shards"][0]["path"], out / "shards/train-00099.parquet")
    report = audit(out)
    assert {"croissant_required", "croissant_sha256", "provenance_sha256_mismatch", "attribution_missing", "unlisted_file"} <= report.codes()


def test_missing_and_truncated_shards_are_named_not_crashed_on(copy_of):
    out = copy_of()
    shards = _manifest(out)["shards"]
    (out / shards[0]["path"]).unlink()
    data = (out / shards[1]["path"]).read_bytes()
    (out / shards[1]["path"]).write_bytes(data[: len(data) // 2])
    report = audit(out)
    assert {"shard_missing", "shard_unreadable", "kept_count_mismatch", "license_summary_mismatch"} <= report.codes()
    assert any(f.code == "shard_missing" and f.where == shards[0]["path"] for f in report.findings)


def test_edited_licence_evidence_is_named(dressed_out, tmp_path):
    out = tmp_path / "dressed-copy"
    shutil.copytree(dressed_out, out, ignore=shutil.ignore_patterns("_work"))
    entry = next(s for s in _manifest(out)["shards"]
                 if "LicenseRef-JP-GSTU-2.0" in pq.read_table(out / s["path"], columns=["license"]).column("license").to_pylist())
    table = pq.read_table(out / entry["path"])
    ev = [e.replace("政府標準利用規約(第2.0版)に準拠", "当サイトの利用規約に準拠") for e in table.column("license_evidence").to_pylist()]
    assert ev != table.column("license_evidence").to_pylist()
    _rewrite(out / entry["path"], table.set_column(table.schema.get_field_index("license_evidence"), "license_evidence", pa.array(ev)))
    report = audit(out)
    assert any(f.code == "license_evidence" and "gstu_declared" in f.message for f in report.findings)


def test_attribution_sections_listing_only_their_first_lines_audit_exactly(copy_of, monkeypatch):
    """A real corpus has thousands of credit lines per source: ATTRIBUTION.md lists the first ones
    and counts the rest, and the audit rebuilds the file rather than look for every line in it."""
    import corpus.provenance.attribution as attribution
    import corpus.provenance.summary as summary
    from corpus.io.hashing import file_sha256

    monkeypatch.setattr(attribution, "MAX_LINES_PER_GROUP", 2)
    monkeypatch.setattr(summary, "MAX_LINES_PER_GROUP", 2)
    out = copy_of()
    m = _manifest(out)
    groups = summary.summarize(str(out), m["shards"], m["rejected_files"])["attribution"]
    (out / "ATTRIBUTION.md").write_text(attribution.render(groups, m["licenses"]["registry"]["licenses"]), encoding="utf-8")
    m["provenance"]["attribution"]["sha256"] = file_sha256(str(out / "ATTRIBUTION.md"))
    (out / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    text = (out / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "more: every document's own line is its `attribution`" in text
    assert audit(out).codes() == set()
    first = next(line for line in text.splitlines() if "more: every document" in line)
    n = int(first.split("and ")[1].split(" ")[0])
    counted = text.replace(first, first.replace(f"and {n} more", f"and {n - 1} more"))
    (out / "ATTRIBUTION.md").write_text(counted, encoding="utf-8")
    assert "attribution_missing" in audit(out).codes()
