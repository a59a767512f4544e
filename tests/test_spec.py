"""Invalid specs fail before any work starts, naming the bad field; exit code 2, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from corpus.pipeline.spec import SpecError, load_spec

from conftest import SAMPLE_SPEC, write_spec


def _spec_with(tmp_path: Path, shared: Path, extra: str) -> Path:
    return write_spec(tmp_path / "spec.toml", [(shared / "law_html/egov_2025_utf8", "egov", "LicenseRef-x")], extra)


@pytest.mark.parametrize(
    "extra,field,expected",
    [
        ("[extract]\ntimeout_seconds = -1\n", "extract.timeout_seconds", "greater than 0"),
        ("[normalize]\nform = \"NFD\"\n", "normalize.form", "'NFKC', 'NFC' or 'none'"),
        ("[shards]\ntarget_tokens = \"lots\"\n", "shards.target_tokens", "valid integer"),
        ("[dedup.exact]\nenable = true\n", "dedup.exact.enable", "Extra inputs are not permitted"),
        ("[quality.thresholds]\nmin_hiragana = 0.1\n", "quality", "unknown rule(s) ['min_hiragana']"),
        ("[quality]\nprofile = \"nope\"\n", "quality", "quality profile not found"),
    ],
)
def test_bad_values_name_the_field(tmp_path, shared, extra, field, expected):
    spec = _spec_with(tmp_path, shared, extra)
    with pytest.raises(SpecError) as err:
        load_spec(spec)
    assert field in str(err.value) and expected in str(err.value)


def test_missing_input_and_model_are_reported_together(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(
        '[pipeline]\nname = "x"\n[[inputs]]\npath = "missing-dir"\nsource = "s"\nlicense = "l"\n'
        '[tokenizer]\nmodel = "missing.model"\n', encoding="utf-8",
    )
    with pytest.raises(SpecError) as err:
        load_spec(spec)
    assert "inputs[0].path" in str(err.value) and "tokenizer.model" in str(err.value)


def test_not_toml_and_no_inputs(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[pipeline\nname=", encoding="utf-8")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(bad)
    bad.write_text('inputs = []\n[pipeline]\nname = "x"\n[tokenizer]\nmodel = "m"\n', encoding="utf-8")
    with pytest.raises(SpecError, match="inputs: List should have at least 1 item"):
        load_spec(bad)


def test_input_override_replaces_inputs_with_defaults(shared):
    loaded = load_spec(SAMPLE_SPEC, [str(shared / "warc/commoncrawl_whirlwind/whirlwind.warc.gz")])
    assert len(loaded.spec.inputs) == 1
    inp = loaded.spec.inputs[0]
    assert (inp.source, inp.license) == ("cli-input", "NOASSERTION")
    assert loaded.resolve(inp.path).resolve() == (shared / "warc/commoncrawl_whirlwind/whirlwind.warc.gz").resolve()


def test_cli_exits_2_and_writes_nothing(tmp_path, shared):
    spec = _spec_with(tmp_path, shared, "[extract]\ntimeout_seconds = 0\n")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "corpus.cli", "run", str(spec), "--output", str(out)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert "extract.timeout_seconds" in proc.stderr
    assert not out.exists()
