"""`corpus export megatron`: the shards as the indexed dataset Megatron-LM and NeMo train from.

Per split, ``<split>_text_document.bin`` holds every document's token ids back to back, each
followed by the EOD id (what ``tools/preprocess_data.py --append-eod`` writes), and
``<split>_text_document.idx`` is the index ``megatron/core/datasets/indexed_dataset.py`` reads:

    b"MMIDIDX\\x00\\x00"      9 bytes
    version                 <Q, 1
    dtype code              <B  (8 = uint16 when the vocabulary has fewer than 65,500 ids, else 4 = int32:
                                 Megatron's ``DType.optimal_dtype``)
    sequence count          <Q
    document count          <Q  (= sequences + 1: document indices start with 0)
    sequence lengths        int32[sequences]
    sequence pointers       int64[sequences]   byte offsets into .bin
    document indices        int64[documents]   0, 1, ..., sequences (one sequence per document)

``<split>_text_document.docs.parquet`` maps each Megatron document index to its ``doc_id``,
``copy`` (mixing), shard and row, so a training sample leads back to its provenance record.
Documents keep the shards' order. Token ids are the shards' ``input_ids`` when present, else the
run's tokenizer is applied (the file must have the sha256 the manifest recorded).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpus.io.hashing import file_sha256
from corpus.tokens.split import SPLITS
from corpus.tokens.tokenizer import Tokenizer, TokenizerError, load_tokenizer

HEADER = b"MMIDIDX\x00\x00"
VERSION = 1
DTYPE_CODES = {np.dtype(np.uint16): 8, np.dtype(np.int32): 4}
SUMMARY_FILE = "megatron.json"


class ExportError(ValueError):
    """The run cannot be exported as asked (no EOD id, tokenizer file changed, shard tampered)."""


def megatron_dtype(vocab_size: int) -> np.dtype:
    """Megatron's choice: uint16 below 65,500 ids, int32 otherwise."""
    return np.dtype(np.uint16) if vocab_size < 65500 else np.dtype(np.int32)


def write_index(path: Path, lengths: np.ndarray, dtype: np.dtype) -> None:
    """The ``.idx`` file for one sequence per document (``lengths`` include the EOD)."""
    lengths = np.asarray(lengths, dtype=np.int32)
    pointers = np.zeros(len(lengths), dtype=np.int64)
    pointers[1:] = np.cumsum(lengths.astype(np.int64) * dtype.itemsize)[:-1]
    documents = np.arange(len(lengths) + 1, dtype=np.int64)
    with open(path, "wb") as fh:
        fh.write(HEADER)
        fh.write(struct.pack("<Q", VERSION))
        fh.write(struct.pack("<B", DTYPE_CODES[dtype]))
        fh.write(struct.pack("<Q", len(lengths)))
        fh.write(struct.pack("<Q", len(documents)))
        fh.write(lengths.tobytes(order="C"))
        fh.write(pointers.tobytes(order="C"))
        fh.write(documents.tobytes(order="C"))


def with_eod(ids: pa.ListArray, eod: int, dtype: np.dtype, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """All documents' ids with ``eod`` after each, flattened, and the per-document lengths (+1)."""
    offsets = np.asarray(ids.offsets, dtype=np.int64)
    values = np.asarray(pc.list_flatten(ids), dtype=np.int64)
    if len(values) and (values.max() >= vocab_size or values.min() < 0):
        raise ExportError(f"token id {int(values.max())} outside the vocabulary of {vocab_size}")
    ends = offsets[1:] - offsets[0]
    return np.insert(values, ends, eod).astype(dtype), np.diff(offsets) + 1


def run_tokenizer_file(manifest: dict[str, Any], override: Path | None) -> Tokenizer:
    """The run's tokenizer file (``override``, else as the spec named it), checked against the manifest's sha256."""
    rec = manifest["tokenizer"]
    path = override or Path(manifest["pipeline"]["spec_file"]).parent / rec["model"]  # as the run resolved it
    if not path.is_file():
        raise ExportError(f"tokenizer {rec['model']} not found; give its file with --tokenizer")
    digest = file_sha256(path)
    if digest != rec["sha256"]:
        raise ExportError(f"tokenizer {path} has sha256 {digest}, but the run was tokenised with {rec['sha256']}")
    try:
        return load_tokenizer(path, rec.get("kind"))
    except TokenizerError as exc:
        raise ExportError(str(exc)) from None


def export_megatron(run_dir: Path, out: Path, tokenizer: Path | None = None, eod_id: int | None = None, batch_rows: int = 1024) -> dict[str, Any]:
    """Write the ``.bin``/``.idx`` pair and doc-id sidecar of each split; returns the summary (also
    written to ``out/megatron.json``)."""
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    rec = manifest["tokenizer"]
    vocab = int(rec["vocab_size"])
    eod = rec.get("eod_id") if eod_id is None else eod_id
    if eod is None:
        raise ExportError("the run's tokenizer has no end-of-document token; pass --eod-id (or set [tokenizer] eod_token)")
    if not 0 <= eod < vocab:
        raise ExportError(f"EOD id {eod} outside the vocabulary of {vocab}")
    dtype = megatron_dtype(vocab)
    shards = sorted(manifest["shards"], key=lambda s: s["path"])
    for s in shards:
        if file_sha256(run_dir / s["path"]) != s["sha256"]:
            raise ExportError(f"{s['path']}: sha256 differs from the manifest (run `corpus audit {run_dir}`)")
    tok = None
    if any("input_ids" not in pq.read_schema(run_dir / s["path"]).names for s in shards):
        tok = run_tokenizer_file(manifest, tokenizer)
    out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {
        "run_manifest_sha256": file_sha256(run_dir / "manifest.json"),
        "tokenizer": {k: rec.get(k) for k in ("model", "sha256", "kind", "vocab_size")},
        "token_ids_from": "tokenizer" if tok else "input_ids",
        "eod_id": eod,
        "dtype": dtype.name,
        "splits": {},
    }
    for split in SPLITS:
        mine = [s for s in shards if s.get("split", Path(s["path"]).name.split("-")[0]) == split]
        if mine:
            summary["splits"][split] = _export_split(run_dir, mine, out / f"{split}_text_document", tok, eod, dtype, vocab, batch_rows)
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return summary


def _export_split(
    run_dir: Path, shards: list[dict], prefix: Path, tok: Tokenizer | None, eod: int, dtype: np.dtype, vocab: int, batch_rows: int
) -> dict[str, Any]:
    lengths: list[np.ndarray] = []
    side: list[pa.Table] = []
    bin_path, idx_path = prefix.with_name(prefix.name + ".bin"), prefix.with_name(prefix.name + ".idx")
    with open(bin_path, "wb") as fh:
        for s in shards:
            pf = pq.ParquetFile(run_dir / s["path"])
            names = pf.schema_arrow.names
            cols = ["doc_id"] + (["copy"] if "copy" in names else []) + (["input_ids"] if tok is None else ["text"])
            row = 0
            for batch in pf.iter_batches(batch_size=batch_rows, columns=cols):
                ids = batch.column("input_ids") if tok is None else pa.array(tok.encode(batch.column("text").to_pylist()), pa.list_(pa.uint32()))
                flat, n = with_eod(ids, eod, dtype, vocab)
                fh.write(flat.tobytes(order="C"))
                lengths.append(n)
                copies = batch.column("copy") if "copy" in names else pa.array([0] * batch.num_rows, pa.int32())
                side.append(pa.table({
                    "doc_id": batch.column("doc_id"),
                    "copy": copies.cast(pa.int32()),
                    "shard": pa.array([s["path"]] * batch.num_rows, pa.string()),
                    "row": pa.array(np.arange(row, row + batch.num_rows), pa.int64()),
                    "n_tokens": pa.array(n - 1, pa.int64()),
                }))
                row += batch.num_rows
    all_lengths = np.concatenate(lengths) if lengths else np.empty(0, np.int64)
    write_index(idx_path, all_lengths, dtype)
    table = pa.concat_tables(side) if side else pa.table({"doc_id": pa.array([], pa.string())})
    table = pa.table({"megatron_index": pa.array(np.arange(table.num_rows), pa.int64()), **{c: table.column(c) for c in table.column_names}})
    docs_path = prefix.with_name(prefix.name + ".docs.parquet")
    pq.write_table(table, docs_path, compression="zstd")
    return {
        "prefix": prefix.name,
        "documents": int(len(all_lengths)),
        "tokens": int(all_lengths.sum() - len(all_lengths)),
        "tokens_with_eod": int(all_lengths.sum()),
        "files": {p.name: file_sha256(p) for p in (bin_path, idx_path, docs_path)},
    }
