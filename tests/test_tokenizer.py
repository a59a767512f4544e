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
