"""Train a tokenizer from documents, so a sample or domain tokenizer is reproducible: a sentencepiece
model (``PREFIX.model``) or a byte-level BPE ``tokenizer.json`` (``PREFIX.json``, Hugging Face
``tokenizers``, the format of most current base models).

Input may be raw inputs (HTML, WARC: run through extract + normalise, no Ray needed), plain
.txt files, Parquet shards with a ``text`` column (e.g. ``DIR/shards``), or a run directory
``DIR`` (then only its ``shards/train-*.parquet``: the validation split stays unseen). Training uses one thread and a fixed seed
order so the same inputs give the same model (byte-identical; tested for both kinds).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import sentencepiece as spm

from corpus.extract.stage import ExtractStage
from corpus.sources.read import expand_input, read_inputs
from corpus.sources.registry import kind_of
from corpus.text.normalize import normalize_text
from corpus.text.normalize_stage import NormalizeStage


def iter_texts(paths: list[Path]) -> Iterator[str]:
    """Normalised document texts from any mix of raw inputs, .txt files and Parquet shards."""
    for path in paths:
        if (path / "manifest.json").is_file():  # a run directory: its training shards only
            files = sorted((path / "shards").glob("train-*.parquet"))
        elif path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
        else:
            files = [path]
        raw = []
        for f in files:
            name = f.name.lower()
            if name.endswith(".parquet"):
                for batch in pq.ParquetFile(f).iter_batches(columns=["text"]):
                    yield from (t for t in batch.column(0).to_pylist() if t)
            elif name.endswith(".txt"):
                yield normalize_text(f.read_text(encoding="utf-8"))
            elif kind_of(f.name, f.read_bytes()[:4096]) is not None:
                raw.append(f)
        for f in raw:
            table, _, _ = read_inputs(expand_input(str(f), "train", "NOASSERTION").ranges)
            for stage in (ExtractStage(), NormalizeStage()):
                table = stage.process(table).kept
            yield from table.column("text").to_pylist()


def training_lines(inputs: list[Path]) -> list[str]:
    """Non-empty lines of every input text, in input order: the one corpus both trainers see."""
    lines = [line.strip() for text in iter_texts(inputs) for line in text.split("\n") if line.strip()]
    if not lines:
        raise ValueError("no text found in the given inputs")
    return lines


#: The end-of-document token a trained BPE carries (id 0), named as Qwen and GPT-2 name theirs.
BPE_EOD_TOKEN = "<|endoftext|>"


def train_bpe(inputs: list[Path], output: Path, vocab_size: int = 8000) -> Path:
    """Train a byte-level BPE with the ``tokenizers`` library and write ``<output>.json``.

    Byte-level (as GPT-2, Llama 3 and Qwen are): every UTF-8 byte is in the initial alphabet, so no
    Japanese character is ever unknown. The trainer's merge order breaks ties deterministically,
    so the same lines give the same file.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    lines = training_lines(inputs)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=[BPE_EOD_TOKEN], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(lines, trainer)
    path = output.with_name(output.name + ".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tok.to_str(), encoding="utf-8")
    return path


def train_tokenizer(
    inputs: list[Path],
    model_prefix: Path,
    vocab_size: int = 8000,
    model_type: str = "unigram",
    character_coverage: float = 0.9995,
    byte_fallback: bool = True,
) -> Path:
    """Train and return the path of ``<model_prefix>.model`` (a ``.vocab`` is written beside it)."""
    model_prefix.parent.mkdir(parents=True, exist_ok=True)
    lines = training_lines(inputs)
    # Sentences are passed in memory, not through a temporary file: the model records its input
    # file name, and a random temp path would make the same command give a different model.
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_prefix=str(model_prefix),
        vocab_size=vocab_size,
        model_type=model_type,
        character_coverage=character_coverage,
        byte_fallback=byte_fallback,
        num_threads=1,
        shuffle_input_sentence=False,
        minloglevel=2,
    )
    return model_prefix.with_suffix(".model")
