"""The output directory, through `corpus run` subprocesses on local Ray: an unsafe one is refused
before any work (exit 2, one line), a file the pipeline did not write is never deleted or
overwritten, a re-run into an earlier output replaces exactly the files its ledger lists, and
`corpus audit` reports a row whose text was edited (with the file hashes made to match) and files
dropped where the manifest lists every file."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.pipeline.output import LEDGER

from conftest import write_spec
from runcli import corpus_cli, law_pages

def _lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


def _files(root: Path) -> set[str]:
    """Files under ``root`` relative to it, the work directory and the ledger excepted."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and not p.relative_to(root).as_posix().startswith("_work/")} - {LEDGER}


def _spec(root: Path, inputs: Path, target_tokens: int) -> Path:
    return write_spec(root / f"spec-{target_tokens}.toml", [(inputs, "law", "LicenseRef-JP-Copyright-Art13")],
                      f"[shards]\ntarget_tokens = {target_tokens}\nvalidation_fraction = 0.0\n")


@pytest.fixture(scope="module")
def setup(shared, tmp_path_factory):
    """Three real law pages as input, and a first run written with --overwrite beside a user's files."""
    root = tmp_path_factory.mktemp("outdir")
    inputs = law_pages(shared, root / "inputs")
    out = root / "first"
    (out / "data").mkdir(parents=True)
    (out / "notes.txt").write_text("my notes\n", encoding="utf-8")
    (out / "data" / "table.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    small = _spec(root, inputs, 2000)
    refused = corpus_cli("run", small, "--output", out)
    proc = corpus_cli("run", small, "--output", out, "--overwrite")
    assert proc.returncode == 0, proc.stderr
    return root, inputs, small, out, refused


def test_unsafe_outputs_are_refused_before_any_work(setup, tmp_path):
    root, inputs, spec, _, _ = setup
    a_file = tmp_path / "a-file"
    a_file.write_text("x", encoding="utf-8")
    nested = tmp_path / "holder"
    shutil.copytree(inputs, nested / "inputs")
    nested_spec = write_spec(tmp_path / "nested.toml", [(nested / "inputs", "law", "LicenseRef-JP-Copyright-Art13")])
    cases = {
        "equal to an input": (spec, inputs, "is inside input 'inputs'"),
        "inside an input": (spec, inputs / "out", "is inside input 'inputs'"),
        "holding an input": (nested_spec, nested, "is inside --output"),
        "an existing file": (spec, a_file, "is an existing file"),
    }
    for what, (spec_path, output, message) in cases.items():
        before = _files(inputs)
        proc = corpus_cli("run", spec_path, "--output", output)
        assert proc.returncode == 2, (what, proc.stderr)
        lines = _lines(proc.stderr)
        assert len(lines) == 2 and lines[0].startswith("running ") and lines[1].startswith("error: ") and message in lines[1], (what, lines)
        assert "Traceback" not in proc.stderr
        assert _files(inputs) == before and not (inputs / "out").exists() and not (inputs / LEDGER).exists(), what
    assert a_file.read_text(encoding="utf-8") == "x"


def test_a_foreign_directory_is_refused_and_overwrite_writes_beside_its_files(setup):
    root, _, _, out, refused = setup
    assert refused.returncode == 2
    (line,) = [ln for ln in _lines(refused.stderr) if ln.startswith("error:")]
    assert "is not empty and is not an earlier output" in line and "--overwrite" in line
    # --overwrite: the run wrote its files beside the user's and recorded exactly those in its ledger
    assert (out / "notes.txt").read_text(encoding="utf-8") == "my notes\n"
    assert (out / "data" / "table.csv").read_text(encoding="utf-8") == "a,b\n1,2\n"
    ledger = set(json.loads((out / LEDGER).read_text(encoding="utf-8"))["files"])
    assert ledger == _files(out) - {"notes.txt", "data/table.csv"}
    assert {"manifest.json", "report.html"} <= ledger and any(f.startswith("shards/") for f in ledger)


def test_a_users_file_where_the_run_writes_stops_the_run_and_is_kept(setup, tmp_path):
    _, _, spec, first, _ = setup
    out = tmp_path / "out"
    shutil.copytree(first, out, symlinks=True)
    mine = out / "shards" / "mine.parquet"
    pq.write_table(pa.table({"text": ["私のデータ"]}), mine)
    before = {p: (out / p).read_bytes() for p in _files(out)}
    for extra in ((), ("--overwrite",)):
        proc = corpus_cli("run", spec, "--output", out, *extra)
        assert proc.returncode == 2, proc.stderr
        (line,) = [ln for ln in _lines(proc.stderr) if ln.startswith("error:")]
        assert str(mine) in line and "was not written by corpus run" in line
        assert {p: (out / p).read_bytes() for p in _files(out)} == before  # nothing deleted, nothing rewritten


def test_a_rerun_into_an_earlier_output_replaces_only_the_ledgers_files(setup, tmp_path):
    root, inputs, small, first, _ = setup
    out = tmp_path / "out"
    shutil.copytree(first, out, symlinks=True)
    earlier = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert len(earlier["shards"]) >= 2
    proc = corpus_cli("run", _spec(root, inputs, 10**9), "--output", out)  # one shard now: the others must go
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["shards"]) == 1
    assert {p.relative_to(out).as_posix() for p in (out / "shards").iterdir()} == {s["path"] for s in manifest["shards"]}
    assert (out / "notes.txt").read_text(encoding="utf-8") == "my notes\n" and (out / "data" / "table.csv").exists()
    ledger = set(json.loads((out / LEDGER).read_text(encoding="utf-8"))["files"])
    assert ledger == _files(out) - {"notes.txt", "data/table.csv"}
    proc = corpus_cli("audit", out)
    assert proc.returncode == 0, proc.stdout


def _rehash(out: Path, rel: str) -> None:
    """Make manifest.json and croissant.json vouch for the file as it now is."""
    digest = hashlib.sha256((out / rel).read_bytes()).hexdigest()
    for name in ("manifest.json", "croissant.json"):
        text = (out / name).read_text(encoding="utf-8")
        doc = json.loads(text)

        def fix(node):
            if isinstance(node, dict):
                if rel in (node.get("path"), node.get("contentUrl")) and "sha256" in node:
                    node["sha256"] = digest
                for v in node.values():
                    fix(v)
            elif isinstance(node, list):
                for v in node:
                    fix(v)

        fix(doc)
        (out / name).write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")


def test_audit_rederives_each_rows_hash_and_reports_unlisted_files(setup, tmp_path):
    _, _, _, first, _ = setup
    out = tmp_path / "out"
    shutil.copytree(first, out, symlinks=True)
    assert corpus_cli("audit", out).returncode == 0
    rel = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["shards"][0]["path"]
    shard = out / rel
    meta = pq.read_metadata(shard)
    table = pq.read_table(shard)
    texts = table.column("text").to_pylist()
    texts[0] = texts[0].replace("の", "が", 1)  # same length: only text_sha256 can tell
    assert texts[0] != table.column("text")[0].as_py() and len(texts[0]) == table.column("n_chars")[0].as_py()
    edited = table.set_column(table.schema.get_field_index("text"), "text", pa.array(texts, table.schema.field("text").type))
    pq.write_table(edited.replace_schema_metadata(table.schema.metadata), shard, row_group_size=meta.row_group(0).num_rows, compression="zstd")
    _rehash(out, rel)
    (out / "shards" / "README.txt").write_text("a note\n", encoding="utf-8")
    (out / "rejected").mkdir(exist_ok=True)
    (out / "rejected" / "extra.csv").write_text("doc_id\n", encoding="utf-8")
    proc = corpus_cli("audit", out)
    assert proc.returncode == 1
    findings = [ln.strip() for ln in proc.stdout.splitlines() if ln.strip().startswith("- [")]
    codes = {f.split("]", 1)[0][3:] for f in findings}
    assert codes == {"shard_text_mismatch", "unlisted_file"}, findings
    assert any(f"{rel} row 0" in f and "text_sha256" in f for f in findings)
    assert any("shards/README.txt" in f for f in findings) and any("rejected/extra.csv" in f for f in findings)
