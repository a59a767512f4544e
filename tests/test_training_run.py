"""What a training team gets from real runs: counts in a tokenizer.json's tokens, a corpus checked
against chABSA with evidence, a Megatron indexed dataset that reads back, a Hugging Face card.

Two real pipeline runs (local Ray) over real text (tests/contamination_docs.py: statute excerpts
quoting chABSA, lightly edited quotes, real filings sharing chABSA's stock phrases, statutes):
A with a byte-level BPE tokenizer.json, ``input_ids`` and ``action = "reject"``; B with the
sample sentencepiece model, no ``input_ids`` and ``action = "remove_span"``. The Megatron files
are read back by a reader written here from the format (megatron/core/datasets/indexed_dataset.py),
not by Megatron.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import struct
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import sentencepiece as spm
from tokenizers import Tokenizer as HFTokenizer

from corpus.cli import main
from corpus.filters.decontaminate import SPANS_COLUMN
from corpus.filters.eval_sets import EvalSet
from corpus.filters.overlap_index import matching_form
from corpus.pipeline.runner import run_pipeline
from corpus.pipeline.spec import load_spec
from corpus.provenance.audit import audit
from corpus.tokens.megatron import megatron_dtype, with_eod, write_index

from conftest import SAMPLE_MODEL, write_spec
from contamination_docs import labelled_docs, truly_contaminated, write_eval_set

DTYPES = {1: np.uint8, 2: np.int8, 3: np.int16, 4: np.int32, 5: np.int64, 6: np.float64, 7: np.float32, 8: np.uint16}


def read_megatron(prefix: Path) -> list[np.ndarray]:
    """An independent MMIDIDX reader: header, version 1, dtype code, counts, lengths, pointers, document indices."""
    raw = prefix.with_name(prefix.name + ".idx").read_bytes()
    assert raw[:9] == b"MMIDIDX\x00\x00"
    (version,) = struct.unpack_from("<Q", raw, 9)
    (code,) = struct.unpack_from("<B", raw, 17)
    n_seq, n_doc = struct.unpack_from("<QQ", raw, 18)
    assert version == 1 and n_doc == n_seq + 1
    off = 34
    lengths = np.frombuffer(raw, np.int32, n_seq, off)
    pointers = np.frombuffer(raw, np.int64, n_seq, off + 4 * n_seq)
    documents = np.frombuffer(raw, np.int64, n_doc, off + 12 * n_seq)
    assert off + 12 * n_seq + 8 * n_doc == len(raw)
    assert documents[0] == 0 and documents[-1] == n_seq and (np.diff(documents) == 1).all()
    dtype = np.dtype(DTYPES[code])
    data = np.fromfile(prefix.with_name(prefix.name + ".bin"), dtype=dtype)
    assert len(data) == lengths.sum()
    assert (pointers == np.concatenate(([0], np.cumsum(lengths.astype(np.int64))[:-1])) * dtype.itemsize).all()
    return [data[p // dtype.itemsize : p // dtype.itemsize + n] for p, n in zip(pointers, lengths)]


def _inputs(root: Path, docs, kinds: dict[str, int]) -> Path:
    d = root / "docs"
    d.mkdir(parents=True)
    for kind, n in kinds.items():
        for doc in [x for x in docs if x.kind == kind][:n]:
            (d / f"{doc.name}.txt").write_text(doc.text, encoding="utf-8")
    return d


def _run(root: Path, shared, kinds: dict[str, int], model: Path, shards: str, action: str):
    """One pipeline run over labelled documents, checked against the even half of chABSA."""
    items = write_eval_set(shared, root / "eval" / "chabsa.jsonl")
    docs = labelled_docs(shared, items)
    extra = (
        f'\n[shards]\ntarget_tokens = 40000\nvalidation_fraction = 0.25\n{shards}\n[quality]\nprofile = "basic"\n\n'
        f'[decontamination]\naction = "{action}"\n[[decontamination.sets]]\nname = "chabsa"\n'
        f'path = "{root / "eval" / "chabsa.jsonl"}"\nid_field = "id"\n'
    )
    spec = write_spec(root / "spec.toml", [(_inputs(root, docs, kinds), "filings", "CC-BY-4.0")], extra, model=model)
    result = run_pipeline(load_spec(spec), root / "out")
    return result.output, result.manifest, items, {d.name: d for d in docs}, root


@pytest.fixture(scope="module")
def run_a(ray_local, shared, bpe_model, tmp_path_factory):
    kinds = {"quote": 10, "paraphrase": 8, "boilerplate": 20, "unrelated": 6}
    return _run(tmp_path_factory.mktemp("train-a"), shared, kinds, bpe_model, "input_ids = true\n", "reject")


@pytest.fixture(scope="module")
def run_b_remove_span(ray_local, shared, tmp_path_factory):
    return _run(tmp_path_factory.mktemp("train-b"), shared, {"quote": 6, "unrelated": 4}, SAMPLE_MODEL, "", "remove_span")


def _doc_name(row) -> str:
    return Path(row["locator"].split(":", 1)[1]).stem


def _shard_rows(out: Path, manifest, columns=None):
    rows = []
    for s in sorted(manifest["shards"], key=lambda s: s["path"]):
        rows += [{**r, "_shard": s["path"], "_split": s["split"]} for r in pq.read_table(out / s["path"], columns=columns).to_pylist()]
    return rows


def test_a_tokenizer_json_run_counts_in_the_librarys_own_tokens(run_a, bpe_model):
    out, manifest, *_ = run_a
    tok = manifest["tokenizer"]
    assert tok["kind"] == "huggingface" and tok["vocab_size"] == 3000 and tok["eod_token"] == "<|endoftext|>"
    assert tok["sha256"] == hashlib.sha256(bpe_model.read_bytes()).hexdigest()
    hf = HFTokenizer.from_file(str(bpe_model))
    rows = _shard_rows(out, manifest, ["text", "n_tokens", "input_ids"])
    expected = [e.ids for e in hf.encode_batch([r["text"] for r in rows], add_special_tokens=False)]
    assert [r["input_ids"] for r in rows] == expected
    assert [r["n_tokens"] for r in rows] == [len(x) for x in expected]
    assert manifest["totals"]["tokens"] == sum(len(x) for x in expected) > 0
    meta = pq.read_schema(out / manifest["shards"][0]["path"]).metadata
    assert meta[b"corpus.tokenizer_sha256"].decode() == tok["sha256"]


def test_quoting_documents_are_rejected_with_evidence_and_boilerplate_kept(run_a, capsys):
    out, manifest, items, docs, root = run_a
    rejected = [r for f in manifest["rejected_files"] for r in pq.read_table(out / f["path"]).to_pylist()]
    by_stage = {}
    for r in rejected:
        by_stage.setdefault(r["stage"], []).append(r)
    decon = {_doc_name(r): r for r in by_stage["decontaminate"]}
    kept = {_doc_name(r) for r in _shard_rows(out, manifest, ["locator"])}
    earlier = {_doc_name(r) for st in ("quality",) for r in by_stage.get(st, [])}  # too short for the quality rules
    written = {p.stem for p in (root / "docs").glob("*.txt")}
    assert {n for n in written if n.startswith("quote-")} - earlier <= set(decon) and len(decon) >= 15
    assert sum(n.startswith("paraphrase-") for n in decon) >= 7
    assert not any(n.startswith("unrelated-") for n in decon)
    assert {n for n in written if n.startswith("unrelated-")} - earlier <= kept
    # Filings that merely share chABSA's stock phrases are kept; one that holds an item of 40+
    # characters verbatim is contaminated in fact (contamination_docs.truly_contaminated). The misses
    # allowed for are stock disclosure sentences of 30+ characters (docs/decontamination.md).
    wrongly = [n for n in decon if n.startswith("boilerplate-") and not truly_contaminated(docs[n], items)]
    assert len(wrongly) <= 2 and sum(n.startswith("boilerplate-") for n in kept) >= 16  # 5 of 115 over the whole set
    # Manifest: the set, its sha256 and what it removed; the stage sits between quality and tokens.
    d = manifest["decontamination"]
    s = d["sets"][0]
    assert s["name"] == "chabsa" and s["items"] == len(items) and 0 < s["items_detectable"] < s["items"]
    assert s["sha256"] == EvalSet("chabsa", root / "eval" / "chabsa.jsonl").sha256()
    assert s["files"][0]["sha256"] == hashlib.sha256((root / "eval" / "chabsa.jsonl").read_bytes()).hexdigest()
    assert d["documents_rejected"] == s["documents_rejected"] == len(decon) and d["documents_cut"] == 0
    names = [st["name"] for st in manifest["stages"]]
    assert names.index("quality") < names.index("decontaminate") < names.index("tokens")
    assert s["sha256"] in (out / "datasheet.md").read_text(encoding="utf-8")
    # corpus inspect shows the set, the item id and the matched text of a rejected quote.
    name = next(n for n in decon if n.startswith("quote-"))
    planted = docs[name].planted[0]
    assert main(["inspect", str(out), decon[name]["doc_id"]]) == 0
    shown = capsys.readouterr().out
    assert "decontaminate" in shown and "chabsa" in shown and "contaminated" in shown
    assert main(["inspect", str(out), decon[name]["doc_id"], "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    step = next(st for st in rec["stages"] if st["stage"] == "decontaminate")
    matches = json.loads(step["detail"])
    squash = lambda t: "".join(map(chr, matching_form(t)[0]))  # noqa: E731 - the shard text is NFKC, the file was not
    assert planted in {m["item"] for m in matches} and all(squash(m["matched"].rstrip("…")) in squash(docs[name].text) for m in matches)


def test_audit_passes_and_checks_the_card_and_the_decontamination_counts(run_a, tmp_path):
    out, manifest, *_ = run_a
    report = audit(out)
    assert report.ok, [str(f) for f in report.findings]
    copy = tmp_path / "copy"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns("_work"))
    (copy / "README.md").write_text((copy / "README.md").read_text(encoding="utf-8") + "\nedited\n", encoding="utf-8")
    m = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    m["decontamination"]["sets"][0]["documents_rejected"] += 1
    (copy / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    codes = audit(copy).codes()
    assert {"provenance_sha256_mismatch", "decontamination_mismatch"} <= codes


def test_the_dataset_card_is_what_the_hub_and_datasets_read(run_a, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    from datasets import load_dataset
    from huggingface_hub import DatasetCard

    out, manifest, *_ = run_a
    card = DatasetCard.load(out / "README.md")
    data = card.data.to_dict()
    assert data["language"] == ["ja"] and data["license"] == ["cc-by-4.0"] and data["task_categories"] == ["text-generation"]
    assert data["size_categories"] == ["n<1K"] and data["pretty_name"] == "test"
    assert {f["split"]: f["path"] for f in data["configs"][0]["data_files"]} == {s: f"shards/{s}-*.parquet" for s in manifest["shard_layout"]["splits"]}
    assert manifest["provenance"]["dataset_card"]["path"] == "README.md"
    body = card.text
    assert "chabsa" in body and str(manifest["totals"]["tokens"]) in body and "corpus export megatron" in body
    ds = load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    splits = manifest["shard_layout"]["splits"]
    assert {s: ds[s].num_rows for s in ds} == {s: v["rows"] for s, v in splits.items()}


def test_megatron_export_reads_back_with_the_shards_tokens(run_a, tmp_path):
    out, manifest, *_ = run_a
    assert main(["export", "megatron", str(out), "--output", str(tmp_path / "meg")]) == 0
    summary = json.loads((tmp_path / "meg" / "megatron.json").read_text())
    assert summary["dtype"] == "uint16" and summary["token_ids_from"] == "input_ids" and summary["eod_id"] == 0
    rows = _shard_rows(out, manifest, ["doc_id", "input_ids"])
    for split, totals in manifest["shard_layout"]["splits"].items():
        docs = read_megatron(tmp_path / "meg" / f"{split}_text_document")
        side = pq.read_table(tmp_path / "meg" / f"{split}_text_document.docs.parquet").to_pylist()
        mine = [r for r in rows if r["_split"] == split]
        assert len(docs) == len(side) == len(mine) == totals["rows"]
        assert sum(len(d) - 1 for d in docs) == totals["tokens"] == summary["splits"][split]["tokens"]
        assert all(d[-1] == 0 for d in docs)  # the EOD after every document
        for i in random.Random(13).sample(range(len(docs)), min(15, len(docs))):
            assert side[i]["megatron_index"] == i and side[i]["doc_id"] == mine[i]["doc_id"]
            assert docs[i][:-1].tolist() == mine[i]["input_ids"]


def test_megatron_int32_for_large_vocabularies_and_clear_errors(run_a, tmp_path):
    out, manifest, *_ = run_a
    assert megatron_dtype(65499) == np.uint16 and megatron_dtype(65500) == np.int32 and megatron_dtype(151_936) == np.int32
    table = pq.read_table(out / manifest["shards"][0]["path"], columns=["input_ids"])
    ids = table.column("input_ids").combine_chunks()
    flat, lengths = with_eod(ids, 151_643, np.dtype(np.int32), 151_936)
    prefix = tmp_path / "big_text_document"
    prefix.with_name(prefix.name + ".bin").write_bytes(flat.tobytes())
    write_index(prefix.with_name(prefix.name + ".idx"), lengths, np.dtype(np.int32))
    back = read_megatron(prefix)
    assert [d[:-1].tolist() for d in back] == ids.to_pylist() and {int(d[-1]) for d in back} == {151_643}
    # A manifest whose tokenizer has no EOD, or an id outside the vocabulary: exit 2, nothing silent.
    assert main(["export", "megatron", str(out), "--output", str(tmp_path / "m2"), "--eod-id", "3000"]) == 2
    assert main(["export", "megatron", str(tmp_path / "nowhere"), "--output", str(tmp_path / "m3")]) == 2


def test_b_remove_span_keeps_documents_and_export_tokenises_with_the_checked_model(run_b_remove_span, tmp_path):
    out, manifest, items, docs, root = run_b_remove_span
    by_id = {i["id"]: i["text"] for i in items}
    rows = _shard_rows(out, manifest)
    quotes = [r for r in rows if _doc_name(r).startswith("quote-")]
    assert len(quotes) == 6 and manifest["decontamination"]["documents_cut"] == 6 == manifest["decontamination"]["sets"][0]["documents_cut"]
    for r in quotes:
        body = "".join(map(chr, matching_form(r["text"])[0]))
        assert all("".join(map(chr, matching_form(by_id[p])[0])) not in body for p in docs[_doc_name(r)].planted)
        assert set(docs[_doc_name(r)].planted) <= {m["item"] for m in json.loads(r[SPANS_COLUMN])}
    assert audit(out).ok
    # No input_ids in the shards: the export applies the run's model, after checking its sha256.
    assert "input_ids" not in pq.read_schema(out / manifest["shards"][0]["path"]).names
    assert main(["export", "megatron", str(out), "--output", str(tmp_path / "meg")]) == 0
    sp = spm.SentencePieceProcessor(model_file=str(SAMPLE_MODEL))
    for split in manifest["shard_layout"]["splits"]:
        back = read_megatron(tmp_path / "meg" / f"{split}_text_document")
        texts = [r["text"] for r in rows if r["_split"] == split]
        assert [d.tolist() for d in back] == [ids + [sp.eos_id()] for ids in sp.encode(texts)]
    other = tmp_path / "other.model"
    other.write_bytes(SAMPLE_MODEL.read_bytes() + b"\x00")
    assert main(["export", "megatron", str(out), "--output", str(tmp_path / "m2"), "--tokenizer", str(other)]) == 2


def test_licences_outside_the_hubs_list_are_named_and_linked(run_a):
    from corpus.provenance.dataset_card import header, size_category

    out, manifest, *_ = run_a
    m = json.loads(json.dumps(manifest))
    m["licenses"]["by_license"]["LicenseRef-JP-Copyright-Art13"] = m["licenses"]["by_license"]["CC-BY-4.0"]
    head = header(m)
    assert head["license"] == ["cc-by-4.0", "other"]
    assert head["license_name"] == "licenseref-jp-copyright-art13" and head["license_link"] == "ATTRIBUTION.md"
    assert "license_name" not in header(manifest)
    assert [size_category(n) for n in (999, 1000, 99_999, 10**6, 10**13)] == ["n<1K", "1K<n<10K", "10K<n<100K", "1M<n<10M", "n>1T"]
