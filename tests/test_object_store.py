"""Inputs and outputs on object storage: a real S3-compatible server on 127.0.0.1 (moto_server).

The sample job runs twice, once from the local disk to a local directory and once from
``s3://`` to ``s3://``, each as a user would (`corpus run` in a subprocess, credentials and
endpoint from the standard AWS environment). Recorded paths are relative to each input's root, so
the two runs must write byte-identical shards and rejections; `corpus audit` and `corpus inspect`
must work on the object-store output, and audit must catch a tampered object.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import REPO, SAMPLE_DATA, SAMPLE_SPEC
from s3_server import S3Server, corpus_env

BUCKET = "corpus"


@pytest.fixture(scope="module")
def s3():
    server = S3Server()
    server.make_bucket(BUCKET)
    yield server
    server.stop()


def _spec(tmp: Path, name: str, root: str) -> Path:
    """The sample spec with its inputs under ``root`` (a local directory or an s3:// prefix)."""
    text = SAMPLE_SPEC.read_text(encoding="utf-8")
    text = re.sub(r'path = "\.\./data/sample/([^"]+)"', lambda m: f'path = "{root}/{m.group(1)}"', text)
    text = text.replace('"../tokenizer-models/sample.model"', f'"{(REPO / "tokenizer-models" / "sample.model").as_posix()}"')
    spec = tmp / f"{name}.toml"
    spec.write_text(text, encoding="utf-8")
    return spec


def _corpus(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "corpus.cli", *args], cwd=REPO, env=corpus_env(env), capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def runs(s3, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("objstore")
    s3.upload(SAMPLE_DATA, f"{BUCKET}/in")
    local_out = tmp / "local-out"
    local = _corpus(s3.env(), "run", str(_spec(tmp, "local", SAMPLE_DATA.as_posix())), "--output", str(local_out))
    assert local.returncode == 0, local.stderr[-3000:]
    remote = _corpus(s3.env(), "run", str(_spec(tmp, "s3", f"s3://{BUCKET}/in")), "--output", f"s3://{BUCKET}/out")
    assert remote.returncode == 0, remote.stderr[-3000:]
    return local_out, f"{BUCKET}/out"


def test_s3_run_writes_the_same_shards_and_rejections_as_a_local_run(s3, runs):
    local_out, remote = runs
    listed = s3.listing(remote)
    for sub in ("shards", "rejected", "signatures"):
        names = sorted(p.name for p in (local_out / sub).iterdir())
        assert names and [p for p in listed if p.startswith(sub + "/")] == [f"{sub}/{n}" for n in names]
        for n in names:
            assert s3.read(f"{remote}/{sub}/{n}") == (local_out / sub / n).read_bytes(), f"{sub}/{n} differs"
    manifest = json.loads(s3.read(f"{remote}/manifest.json"))
    local_manifest = json.loads((local_out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["totals"] == local_manifest["totals"] and manifest["stages"] == local_manifest["stages"]
    assert manifest["input_roots"]["egov_law_html_2025"] == f"s3://{BUCKET}/in/egov_law_html_2025"
    assert any(k.startswith("_work/") for k in listed), "checkpoints live on the object store too"


def test_audit_and_inspect_work_on_the_object_store_output(s3, runs):
    _, remote = runs
    audit = _corpus(s3.env(), "audit", f"s3://{remote}")
    assert audit.returncode == 0, audit.stdout[-3000:]
    assert "OK: no discrepancies" in audit.stdout
    table = pq.read_table(pa.BufferReader(s3.read(f"{remote}/shards/train-00000.parquet")))
    doc = table.slice(0, 1).to_pylist()[0]
    inspect = _corpus(s3.env(), "inspect", f"s3://{remote}", doc["doc_id"], "--source", "--json")
    assert inspect.returncode == 0, inspect.stderr[-2000:]
    rec = json.loads(inspect.stdout)
    assert rec["status"] == "kept" and rec["shard_row_verified"] is True
    assert rec["source_bytes"]["reopened"] and rec["source_bytes"]["matches_raw_sha256"], rec["source_bytes"]


def test_audit_catches_an_edited_object(s3, runs, tmp_path):
    _, remote = runs
    copy = f"{BUCKET}/tampered"
    for rel in s3.listing(remote):
        if not rel.startswith("_work/"):
            s3.write(f"{copy}/{rel}", s3.read(f"{remote}/{rel}"))
    shard = f"{copy}/shards/train-00000.parquet"
    table = pq.read_table(pa.BufferReader(s3.read(shard)))
    texts = table.column("text").to_pylist()
    texts[0] = texts[0].replace("法", "砲", 1)
    sink = pa.BufferOutputStream()
    pq.write_table(table.set_column(table.schema.get_field_index("text"), "text", pa.array(texts)), sink)
    s3.write(shard, sink.getvalue().to_pybytes())
    s3.write(f"{copy}/rejected/notes.txt", b"not ours")
    audit = _corpus(s3.env(), "audit", f"s3://{copy}")
    assert audit.returncode == 1
    assert "[shard_text_mismatch]" in audit.stdout and "[shard_sha256_mismatch]" in audit.stdout
    assert "[unlisted_file] rejected/notes.txt" in audit.stdout
