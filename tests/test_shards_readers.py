"""The shards as a training team meets them: five readers, token sums, budget, split, order, mixing.

One real pipeline run (tests/shardrun.py: chABSA filings, two sources, mixing, input_ids) is
shared with tests/test_report.py.
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter, defaultdict

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import sentencepiece as spm

from corpus.cli import main
from corpus.document import make_doc_id
from corpus.tokens.shards import token_window
from corpus.tokens.split import order_key, split_of

from conftest import SAMPLE_DATA, SAMPLE_MODEL, SHARED
import shardrun


@pytest.fixture(scope="module")
def run(ray_local):
    result = shardrun.mixed_run()
    return result.output, result.manifest


def assert_binomial(hits: int, n: int, p: float, sigmas: float = 4.0) -> None:
    """``hits`` of ``n`` independent draws with probability ``p``: within ``sigmas`` standard deviations."""
    assert abs(hits - n * p) <= sigmas * (n * p * (1 - p)) ** 0.5, (hits, n, p)


def _shard_files(out, split="*"):
    return sorted((out / "shards").glob(f"{split}-*.parquet"))


def test_pyarrow_reads_every_shard_and_its_self_description(run):
    out, manifest = run
    entries = {e["path"]: e for e in manifest["shards"]}
    assert {f"shards/{f.name}" for f in _shard_files(out)} == set(entries) and len(entries) >= 10
    total = 0
    for f in _shard_files(out):
        entry = entries[f"shards/{f.name}"]
        pf = pq.ParquetFile(f)
        meta = {k.decode(): v.decode() for k, v in pf.schema_arrow.metadata.items() if k.startswith(b"corpus.")}
        table = pf.read()
        tokens = pc.sum(table.column("n_tokens")).as_py()
        assert tokens == entry["tokens"] == int(meta["corpus.tokens"])
        assert table.num_rows == entry["rows"] == int(meta["corpus.rows"])
        assert meta["corpus.split"] == entry["split"] == f.name.split("-")[0]
        assert meta["corpus.tokenizer_sha256"] == manifest["tokenizer"]["sha256"]
        assert meta["corpus.schema_version"] == manifest["code"]["schema_version"]
        # Row groups for streaming readers, zstd throughout.
        assert pf.metadata.num_row_groups == -(-table.num_rows // shardrun.ROW_GROUP_SIZE)
        assert {pf.metadata.row_group(0).column(i).compression for i in range(pf.metadata.num_columns)} == {"ZSTD"}
        total += tokens
    assert total == manifest["totals"]["tokens"] == sum(s["tokens"] for s in manifest["shard_layout"]["splits"].values())


def test_input_ids_are_the_models_own_ids_and_match_n_tokens(run):
    out, manifest = run
    table = pq.read_table(_shard_files(out, "validation")[0])
    assert table.schema.field("input_ids").type == pa.list_(pa.uint32())
    ids = table.column("input_ids").to_pylist()
    assert [len(x) for x in ids] == table.column("n_tokens").to_pylist()
    sp = spm.SentencePieceProcessor(model_file=str(SAMPLE_MODEL))
    texts = table.column("text").to_pylist()
    assert ids == sp.encode(texts)


def test_hugging_face_datasets_loads_both_splits_offline(run, tmp_path, monkeypatch):
    out, manifest = run
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    from datasets import load_dataset

    files = {s: [str(f) for f in _shard_files(out, s)] for s in ("train", "validation")}
    ds = load_dataset("parquet", data_files=files, cache_dir=str(tmp_path / "cache"))
    splits = manifest["shard_layout"]["splits"]
    for name in ("train", "validation"):
        assert ds[name].num_rows == splits[name]["rows"]
        assert sum(ds[name]["n_tokens"]) == splits[name]["tokens"]
    assert sum(ds["train"]["n_tokens"]) + sum(ds["validation"]["n_tokens"]) == manifest["totals"]["tokens"]


def test_duckdb_sums_tokens_and_reads_the_key_value_metadata(run):
    import duckdb

    out, manifest = run
    glob = str(out / "shards" / "*.parquet")
    con = duckdb.connect()
    rows, tokens = con.execute(f"SELECT count(*), sum(n_tokens) FROM read_parquet('{glob}')").fetchone()
    assert (rows, tokens) == (manifest["totals"]["shard_rows"], manifest["totals"]["tokens"])
    kv = con.execute(
        f"SELECT file_name, decode(value) FROM parquet_kv_metadata('{glob}') WHERE decode(key) = 'corpus.tokens'"
    ).fetchall()
    by_name = {os.path.basename(f): int(v) for f, v in kv}
    assert by_name == {e["path"].split("/")[1]: e["tokens"] for e in manifest["shards"]}


def test_polars_sums_tokens_per_split(run):
    import polars as pl

    out, manifest = run
    for split, expected in manifest["shard_layout"]["splits"].items():
        got = pl.scan_parquet([str(f) for f in _shard_files(out, split)]).select(pl.col("n_tokens").sum()).collect().item()
        assert got == expected["tokens"]


def test_ray_data_reads_the_shard_directory(run):
    import ray

    out, manifest = run
    ds = ray.data.read_parquet(str(out / "shards")).select_columns(["doc_id", "n_tokens"])
    assert ds.count() == manifest["totals"]["shard_rows"]
    assert ds.sum("n_tokens") == manifest["totals"]["tokens"]


def test_shard_token_counts_fall_within_the_stated_tolerance(run):
    out, manifest = run
    layout = manifest["shard_layout"]
    lo, hi = layout["token_window"]
    assert (lo, hi) == token_window(shardrun.TARGET_TOKENS, shardrun.TOLERANCE)
    checked = 0
    for split in ("train", "validation"):
        entries = sorted((e for e in manifest["shards"] if e["split"] == split), key=lambda e: e["path"])
        for e in entries[:-1]:  # the last shard of a split takes what is left
            if e["rows"] == 1 and e["tokens"] > hi:  # one document longer than the window: its own shard
                continue
            assert lo <= e["tokens"] <= hi, e
            checked += 1
    assert checked >= 12


def test_split_fractions_hold_on_real_data(run, shared):
    out, manifest = run
    f = shardrun.VALIDATION_FRACTION
    rows = pa.concat_tables([pq.read_table(p, columns=["doc_id"]).append_column("file", pa.array([p.name] * pq.read_metadata(p).num_rows)) for p in _shard_files(out)])
    split_docs: dict[str, set[str]] = defaultdict(set)
    for doc_id, name in zip(rows.column("doc_id").to_pylist(), rows.column("file").to_pylist()):
        split = name.split("-")[0]
        assert split == split_of(doc_id, f)
        split_docs[split].add(doc_id)
    assert not split_docs["train"] & split_docs["validation"]  # copies never leak across splits
    shard_docs = split_docs["train"] | split_docs["validation"]
    # doc_ids hash the input paths (a fresh temp dir each session), so the split is a fresh binomial draw:
    # bounds are 4 standard deviations (a false alarm about once in 16,000 sessions), not a fixed margin.
    assert_binomial(len(split_docs["validation"]), len(shard_docs), f)
    # Every document the run saw (kept, down-sampled or rejected), and every file of the shared data set.
    dropped = [d for p in sorted((out / "rejected").glob("*.parquet")) for d in pq.read_table(p, columns=["doc_id"]).column("doc_id").to_pylist()]
    assert pq.read_metadata(out / "rejected" / "mix.parquet").num_rows > 0
    seen = shard_docs | set(dropped)
    assert len(seen) == manifest["totals"]["documents_in"]
    assert_binomial(sum(split_of(d, f) == "validation" for d in seen), len(seen), f)
    with open(shared / "MANIFEST.tsv", encoding="utf-8") as fh:
        ids = [make_doc_id(f"file:{r[0]}", r[-1]) for r in csv.reader(fh, delimiter="\t") if len(r) > 2 and len(r[-1]) == 64]
    assert len(ids) > 500
    for fraction in (0.01, 0.1, 0.2, 0.5):
        # Fixed ids (the shared data's own paths): a deterministic check, as tight as the bound allows.
        assert_binomial(sum(split_of(d, fraction) == "validation" for d in ids), len(ids), fraction)


def test_documents_follow_the_seeded_hash_order_not_arrival_or_doc_id_order(run):
    out, manifest = run
    seed = manifest["shard_layout"]["seed"]
    concatenated = []
    for f in _shard_files(out, "train")[:-1]:
        t = pq.read_table(f, columns=["doc_id", "copy"])
        keys = [order_key(seed, d, c) for d, c in zip(t.column("doc_id").to_pylist(), t.column("copy").to_pylist())]
        assert keys == sorted(keys), f.name
        concatenated += t.column("doc_id").to_pylist()
    assert concatenated != sorted(concatenated)


def test_mixing_reaches_its_budget_and_records_what_was_resampled(run):
    out, manifest = run
    mixing = manifest["mixing"]
    assert mixing["mode"] == "budget" and mixing["target_tokens"] == shardrun.MIX_TARGET
    rows = pa.concat_tables([pq.read_table(p, columns=["doc_id", "source", "copy", "n_tokens"]) for p in _shard_files(out)]).to_pylist()
    assert len({(r["doc_id"], r["copy"]) for r in rows}) == len(rows)
    largest = max(r["n_tokens"] for r in rows)
    copies = Counter(r["doc_id"] for r in rows)
    mixed_out = pq.read_table(out / "rejected" / "mix.parquet").to_pylist()
    for source, m in mixing["sources"].items():
        mine = [r for r in rows if r["source"] == source]
        assert sum(r["n_tokens"] for r in mine) == m["selected_tokens"]
        assert abs(m["selected_tokens"] - shardrun.MIX_TARGET / 2) <= largest
        assert len(mine) == m["rows"] and len({r["doc_id"] for r in mine}) == m["selected_docs"]
        assert sum(1 for d in {r["doc_id"] for r in mine} if copies[d] > 1) == m["repeated_docs"]
        assert sum(1 for r in mixed_out if r["source"] == source) == m["downsampled_docs"]
        assert m["selected_docs"] + m["downsampled_docs"] == m["available_docs"]
    finance, other = mixing["sources"]["chabsa-finance"], mixing["sources"]["chabsa-other"]
    assert finance["epochs"] > 2 and finance["repeated_docs"] == finance["available_docs"] and finance["downsampled_docs"] == 0
    assert other["epochs"] < 1 and other["downsampled_docs"] > 0 and other["repeated_docs"] == 0
    assert {(r["stage"], r["reason"]) for r in mixed_out} == {("mix", "downsampled")}
    totals = manifest["totals"]
    assert totals["accounting_ok"] and totals["documents_in"] == totals["kept"] + totals["rejected"]
    assert totals["kept"] == len(copies) and totals["shard_rows"] == len(rows)
    assert [f["stage"] for f in manifest["token_funnel"]] == ["tokens", "dedup", "mix"]  # dedup = exact + near
    assert manifest["token_funnel"][-1]["tokens"] == totals["tokens"]


def test_tokenizer_trains_from_a_runs_shards_with_every_option(run, tmp_path):
    from sentencepiece import sentencepiece_model_pb2 as pb

    out, _ = run
    args = ["tokenizer", "train", str(out / "shards"), "--vocab-size", "1500", "--model-type", "bpe",
            "--no-byte-fallback", "--character-coverage", "0.995", "--output", str(tmp_path / "bpe")]
    assert main(args) == 0
    assert main(["tokenizer", "train", str(out), "--vocab-size", "2000", "--output", str(tmp_path / "uni")]) == 0
    specs = {}
    for name in ("bpe", "uni"):
        proto = pb.ModelProto()
        proto.ParseFromString((tmp_path / f"{name}.model").read_bytes())
        specs[name] = proto.trainer_spec
    assert (specs["bpe"].model_type, specs["bpe"].vocab_size, specs["bpe"].byte_fallback) == (pb.TrainerSpec.BPE, 1500, False)
    assert specs["bpe"].character_coverage == pytest.approx(0.995)
    assert (specs["uni"].model_type, specs["uni"].vocab_size, specs["uni"].byte_fallback) == (pb.TrainerSpec.UNIGRAM, 2000, True)
    # Byte fallback decides what an unseen character becomes: bytes, or the unknown piece.
    uni = spm.SentencePieceProcessor(model_file=str(tmp_path / "uni.model"))
    bpe = spm.SentencePieceProcessor(model_file=str(tmp_path / "bpe.model"))
    assert "<0xF0>" in uni.encode("🀄", out_type=str)
    assert bpe.unk_id() in bpe.encode("🀄")
    # Trained on the run's finance text: finance terms take fewer pieces than under a model trained
    # the same way (same vocab size and options) on the bundled law sample.
    assert main(["tokenizer", "train", str(SAMPLE_DATA), "--vocab-size", "2000", "--output", str(tmp_path / "law")]) == 0
    law = spm.SentencePieceProcessor(model_file=str(tmp_path / "law.model"))
    terms = ["連結会計年度における売上高", "親会社株主に帰属する当期純利益", "営業利益", "経常利益", "前年同期比"]
    assert sum(len(uni.encode(t)) for t in terms) < sum(len(law.encode(t)) for t in terms)


def test_manifest_checksums_verify_every_shard(run):
    out, manifest = run
    from corpus.io.hashing import file_sha256

    for e in manifest["shards"]:
        assert file_sha256(out / e["path"]) == e["sha256"]
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["shards"] == manifest["shards"]
