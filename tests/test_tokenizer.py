"""`corpus tokenizer train`: a real sentencepiece model from real text, reproducibly."""

from __future__ import annotations

import os

import sentencepiece as spm

from corpus.cli import main


def test_same_command_gives_the_same_model_bytes(shared, tmp_path, monkeypatch):
    src = shared / "law_html/lawegov_2013_sjis/html"
    inputs = [str(src / n) for n in ("bf2a36e69d30a929.html", "83198fe3ab4a8c51.html", "d3706fc85c406a45.html")]
    models = []
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        monkeypatch.chdir(tmp_path / run)
        assert main(["tokenizer", "train", *inputs, "--output", "tok/law", "--vocab-size", "1500"]) == 0
        models.append((tmp_path / run / "tok" / "law.model").read_bytes())
    assert models[0] == models[1]
    sp = spm.SentencePieceProcessor(model_file=os.path.join(tmp_path, "a", "tok", "law.model"))
    assert sp.get_piece_size() == 1500
    pieces = sp.encode("出資の受入れ、預り金及び金利等の取締りに関する法律", out_type=str)
    assert 1 < len(pieces) < 20 and "".join(pieces).replace("▁", "") == "出資の受入れ、預り金及び金利等の取締りに関する法律"


def test_no_text_is_an_error_not_a_crash(tmp_path):
    (tmp_path / "empty.html").write_bytes(b"")
    assert main(["tokenizer", "train", str(tmp_path), "--output", str(tmp_path / "m")]) == 1


# --- Tokenizers by kind: sentencepiece .model and Hugging Face tokenizer.json -------------------

import json  # noqa: E402

import pyarrow as pa  # noqa: E402
import pytest  # noqa: E402
from tokenizers import Tokenizer as HFTokenizer  # noqa: E402

from corpus.pipeline.spec import SpecError, load_spec  # noqa: E402
from corpus.tokens.counter import TokenCountStage  # noqa: E402
from corpus.tokens.tokenizer import TokenizerError, load_tokenizer, tokenizer_record  # noqa: E402

from conftest import SAMPLE_MODEL, write_spec  # noqa: E402


def chabsa_texts(shared, n=None):
    files = sorted((shared / "finance" / "chabsa").glob("*.json"))[:n]
    return ["\n".join(s["sentence"] for s in json.loads(f.read_text(encoding="utf-8"))["sentences"]) for f in files]


def test_bpe_kind_gives_the_same_tokenizer_json_bytes_and_round_trips(shared, tmp_path):
    src = shared / "law_html/lawegov_2013_sjis/html"
    inputs = [str(src / n) for n in ("bf2a36e69d30a929.html", "83198fe3ab4a8c51.html", "d3706fc85c406a45.html")]
    files = []
    for run in ("a", "b"):
        assert main(["tokenizer", "train", *inputs, "--kind", "bpe", "--output", str(tmp_path / run / "law"), "--vocab-size", "1200"]) == 0
        files.append((tmp_path / run / "law.json").read_bytes())
    assert files[0] == files[1]
    tok = load_tokenizer(tmp_path / "a" / "law.json")
    assert (tok.kind, tok.vocab_size, tok.eod_token, tok.eod_id) == ("huggingface", 1200, "<|endoftext|>", 0)
    text = "出資の受入れ、預り金及び金利等の取締りに関する法律"
    ids = tok.encode([text])[0]
    assert 1 < len(ids) < len(text.encode("utf-8")) and HFTokenizer.from_file(str(tmp_path / "a" / "law.json")).decode(ids) == text


def test_kind_vocab_and_eod_are_read_from_each_file(bpe_model, tmp_path):
    sp = load_tokenizer(SAMPLE_MODEL)
    assert (sp.kind, sp.vocab_size, sp.eod_id, sp.eod_token) == ("sentencepiece", 4000, 2, "</s>")
    hf = load_tokenizer(bpe_model)
    assert (hf.kind, hf.vocab_size, hf.eod_id, hf.eod_token) == ("huggingface", 3000, 0, "<|endoftext|>")
    rec = tokenizer_record(hf, "neko.json")
    assert rec["kind"] == "huggingface" and rec["vocab_size"] == 3000 and len(rec["sha256"]) == 64
    # A tokenizer_config.json beside the file names the EOS transformers (and Megatron) would use.
    model = tmp_path / "tokenizer.json"
    model.write_bytes(bpe_model.read_bytes())
    piece = HFTokenizer.from_file(str(model)).id_to_token(7)
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"eos_token": {"content": piece}}), encoding="utf-8")
    assert load_tokenizer(model).eod_id == 7
    assert load_tokenizer(model, eod_token="<|endoftext|>").eod_id == 0


def test_counts_and_ids_equal_each_librarys_own_batch_encode(shared, bpe_model):
    import sentencepiece as spm

    texts = chabsa_texts(shared, 40)
    table = pa.table({"text": texts})
    hf_ids = [e.ids for e in HFTokenizer.from_file(str(bpe_model)).encode_batch(texts, add_special_tokens=False)]
    sp_ids = spm.SentencePieceProcessor(model_file=str(SAMPLE_MODEL)).encode(texts)
    for path, expected in ((bpe_model, hf_ids), (SAMPLE_MODEL, sp_ids)):
        tok = load_tokenizer(path)
        counts = TokenCountStage(tok, batch_size=7).process(table).kept.column("n_tokens").to_pylist()
        assert counts == [len(x) for x in expected]
        assert tok.encode(texts) == expected
    # The two kinds really count differently (the point of counting in the target model's tokens).
    assert sum(len(x) for x in hf_ids) != sum(len(x) for x in sp_ids)


def test_a_tokenizer_survives_pickling_for_ray_workers(bpe_model):
    import pickle

    tok = load_tokenizer(bpe_model)
    again = pickle.loads(pickle.dumps(TokenCountStage(tok)))
    assert again.tokenizer.count(["当連結会計年度の業績"]) == tok.count(["当連結会計年度の業績"])


@pytest.mark.parametrize(
    "content, kind, eod, message",
    [
        (b"\x00\x01 not a model", None, None, "is not a sentencepiece model"),
        (b"", None, None, "is not a sentencepiece model"),
        (b'{"vocab": [1, 2]}', None, None, "is not a Hugging Face tokenizer.json"),
        ("SAMPLE_VOCAB", None, None, "is not a sentencepiece model"),
        ("BPE", "sentencepiece", None, "but the spec says kind = 'sentencepiece'"),
        ("SAMPLE", "huggingface", None, "but the spec says kind = 'huggingface'"),
        ("BPE", None, "<|not-there|>", "is not in the vocabulary"),
    ],
)
def test_spec_validation_loads_the_model_and_names_the_field(shared, tmp_path, bpe_model, content, kind, eod, message):
    model = tmp_path / "model.bin"
    sources = {"SAMPLE_VOCAB": SAMPLE_MODEL.with_suffix(".vocab"), "BPE": bpe_model, "SAMPLE": SAMPLE_MODEL}
    model.write_bytes(sources[content].read_bytes() if isinstance(content, str) else content)
    spec = write_spec(tmp_path / "spec.toml", [(shared / "finance/chabsa", "x", "CC-BY-4.0")], model=model)
    text = spec.read_text(encoding="utf-8")
    fields = (f'kind = "{kind}"\n' if kind else "") + (f'eod_token = "{eod}"\n' if eod else "")
    spec.write_text(text.replace(f'model = "{model}"\n', f'model = "{model}"\n{fields}'), encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_spec(spec)
    assert "tokenizer.model:" in str(err.value) and message in str(err.value)
    # The CLI turns it into exit code 2 before any work starts.
    assert main(["run", str(spec), "--output", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


def test_spec_with_a_tokenizer_json_validates(shared, tmp_path, bpe_model):
    spec = write_spec(tmp_path / "spec.toml", [(shared / "finance/chabsa", "x", "CC-BY-4.0")], model=bpe_model)
    loaded = load_spec(spec)
    assert loaded.spec.tokenizer.kind is None
    with pytest.raises(TokenizerError):
        load_tokenizer(tmp_path / "missing.json")
