"""The target model's tokenizer, whatever file it ships: a sentencepiece ``.model`` or a Hugging Face
``tokenizer.json`` (the ``tokenizers`` library; a local file, never a hub download).

Counting, ``input_ids``, token budgets, mixing and the Megatron export all go through one
``Tokenizer`` interface, so the tokens a corpus is measured in are the tokens the team trains on.
The kind is read from the file itself (a ``tokenizer.json`` is a JSON object, a sentencepiece
model a protobuf), or stated in the spec; a file that is not a model of that kind is a
``TokenizerError`` with one readable line, raised while the spec is validated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from corpus.io.hashing import file_sha256

Kind = Literal["sentencepiece", "huggingface"]
KINDS: tuple[str, ...] = ("sentencepiece", "huggingface")

#: End-of-document tokens of current base models, tried in this order when a ``tokenizer.json``
#: comes without a ``tokenizer_config.json`` naming its ``eos_token`` (Qwen, Llama 3, Llama 2 /
#: LLM-jp / Swallow, Gemma, and our own trained BPE, which uses the first).
KNOWN_EOD_TOKENS = ("<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>", "<|eos|>", "[EOS]")


class TokenizerError(ValueError):
    """The tokenizer file is missing, or is not a model of the expected kind."""


@runtime_checkable
class Tokenizer(Protocol):
    """What the pipeline needs from a tokenizer; implementations pickle as their settings only."""

    path: str
    kind: str

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, without special tokens (the EOD is the exporter's business)."""

    def count(self, texts: list[str]) -> list[int]:
        """``len`` of each ``encode`` result (counted without building id lists where possible)."""

    @property
    def vocab_size(self) -> int:
        """Number of ids, special tokens included: every id is below it."""

    @property
    def eod_id(self) -> int | None:
        """The end-of-document id Megatron's ``--append-eod`` would append, if the model has one."""

    @property
    def eod_token(self) -> str | None:
        """The text of ``eod_id``'s token."""


class _Lazy:
    """Loads the library object on first use, drops it when pickled (Ray workers reload the file)."""

    def __init__(self, path: str, eod_token: str | None = None):
        self.path = path
        self.requested_eod = eod_token
        self._obj: Any = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_obj": None}

    def _load(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def impl(self) -> Any:
        if self._obj is None:
            self._obj = self._load()
        return self._obj

    def _eod_from_token(self, token: str) -> int:
        found = self._id_of(token)
        if found is None:
            raise TokenizerError(f"{self.path}: EOD token {token!r} is not in the vocabulary")
        return found

    def _id_of(self, token: str) -> int | None:  # pragma: no cover - overridden
        raise NotImplementedError

    def count(self, texts: list[str]) -> list[int]:
        return [len(ids) for ids in self.encode(texts)]

    def encode(self, texts: list[str]) -> list[list[int]]:  # pragma: no cover - overridden
        raise NotImplementedError


class SentencePieceTokenizer(_Lazy):
    """A sentencepiece model; ``encode`` is one batched call (parallel inside sentencepiece)."""

    kind = "sentencepiece"

    def _load(self) -> Any:
        import sentencepiece as spm

        try:
            return spm.SentencePieceProcessor(model_file=self.path)
        except (RuntimeError, OSError) as exc:
            raise TokenizerError(f"{self.path} is not a sentencepiece model ({_first_line(exc)})") from None

    def encode(self, texts: list[str]) -> list[list[int]]:
        return self.impl.encode(texts)

    @property
    def vocab_size(self) -> int:
        return self.impl.get_piece_size()

    def _id_of(self, token: str) -> int | None:
        i = self.impl.piece_to_id(token)
        return None if i == self.impl.unk_id() and token != self.impl.id_to_piece(i) else i

    @property
    def eod_id(self) -> int | None:
        if self.requested_eod is not None:
            return self._eod_from_token(self.requested_eod)
        eos = self.impl.eos_id()
        return eos if eos >= 0 else None

    @property
    def eod_token(self) -> str | None:
        i = self.eod_id
        return None if i is None else self.impl.id_to_piece(i)


class HuggingFaceTokenizer(_Lazy):
    """A ``tokenizer.json``; ``encode_batch_fast`` (no offsets) parallelises in Rust.

    Special tokens are not added (no BOS from a post-processor): a document's count is its text's
    tokens, the same for every kind, and the exporter appends the EOD as Megatron does.
    """

    kind = "huggingface"

    def _load(self) -> Any:
        from tokenizers import Tokenizer as HFTokenizer

        try:
            return HFTokenizer.from_file(self.path)
        except Exception as exc:  # the library raises a bare Exception for every parse error
            raise TokenizerError(f"{self.path} is not a Hugging Face tokenizer.json ({_first_line(exc)})") from None

    def encode(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.impl.encode_batch_fast(texts, add_special_tokens=False)]

    def count(self, texts: list[str]) -> list[int]:
        return [len(e) for e in self.impl.encode_batch_fast(texts, add_special_tokens=False)]

    @property
    def vocab_size(self) -> int:
        return self.impl.get_vocab_size(with_added_tokens=True)

    def _id_of(self, token: str) -> int | None:
        return self.impl.token_to_id(token)

    @property
    def eod_token(self) -> str | None:
        if self.requested_eod is not None:
            self._eod_from_token(self.requested_eod)
            return self.requested_eod
        configured = _configured_eos(Path(self.path).parent / "tokenizer_config.json")
        if configured is not None and self._id_of(configured) is not None:
            return configured
        return next((t for t in KNOWN_EOD_TOKENS if self._id_of(t) is not None), None)

    @property
    def eod_id(self) -> int | None:
        token = self.eod_token
        return None if token is None else self._id_of(token)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def _configured_eos(path: Path) -> str | None:
    """``eos_token`` of a ``tokenizer_config.json`` beside the model (what transformers would use)."""
    try:
        eos = json.loads(path.read_text(encoding="utf-8")).get("eos_token")
    except (OSError, ValueError, AttributeError):
        return None
    if isinstance(eos, dict):
        eos = eos.get("content")
    return eos if isinstance(eos, str) else None


def detect_kind(path: Path) -> str:
    """``huggingface`` when the file starts (after whitespace) with ``{``, else ``sentencepiece``."""
    with open(path, "rb") as fh:
        head = fh.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    return "huggingface" if head.startswith(b"{") else "sentencepiece"


def load_tokenizer(path: str | Path, kind: str | None = None, eod_token: str | None = None) -> Tokenizer:
    """Open and check a tokenizer file: loads it once (so a bad file fails here) and returns it.

    ``kind`` (``sentencepiece`` | ``huggingface``) must agree with the file when given;
    ``eod_token`` overrides the end-of-document token found in the model.
    """
    p = Path(path)
    if not p.is_file():
        raise TokenizerError(f"tokenizer file {p} not found (train one with `corpus tokenizer train`)")
    found = detect_kind(p)
    if kind is not None and kind not in KINDS:
        raise TokenizerError(f"unknown tokenizer kind {kind!r}; expected one of {list(KINDS)}")
    if kind is not None and kind != found:
        what = "a JSON file (a Hugging Face tokenizer.json)" if found == "huggingface" else "not JSON (not a tokenizer.json)"
        raise TokenizerError(f"{p} is {what}, but the spec says kind = {kind!r}")
    tok: Tokenizer = (HuggingFaceTokenizer if found == "huggingface" else SentencePieceTokenizer)(str(p), eod_token)
    tok.impl  # noqa: B018 - load now: a bad file must fail at validation, not in a worker
    if tok.vocab_size <= 0:
        raise TokenizerError(f"{p} has an empty vocabulary")
    tok.eod_id  # noqa: B018 - an explicit eod_token must exist in the vocabulary
    return tok


def model_sha256(model_path: str | Path) -> str:
    """sha256 of the tokenizer file: the manifest and every shard name the model by it."""
    return file_sha256(Path(model_path))


def tokenizer_record(tok: Tokenizer, spec_model: str) -> dict[str, Any]:
    """The manifest's ``tokenizer`` block: the file as the spec names it, its sha256, kind, size, EOD."""
    return {
        "model": spec_model,
        "sha256": model_sha256(tok.path),
        "kind": tok.kind,
        "vocab_size": tok.vocab_size,
        "eod_id": tok.eod_id,
        "eod_token": tok.eod_token,
    }
