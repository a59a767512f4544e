"""Errors a person can read. An error of the run itself (a full disk, a permission denied while a
Ray worker writes a checkpoint) ends `corpus run` with exit code 1 and one line naming what failed,
the file being written and the log holding the whole traceback (printed too with --verbose). A spec
that is wrong in type, not finite, or names a tokenizer file that is not a model exits 2 naming the
field, before anything is written.

The full disk is real: a 16 KiB tmpfs mounted on the run's ``shards/`` (needs root and a working
``mount``; skipped otherwise). Permission denied is real too: as root the run is started through
``setpriv`` without the capabilities that bypass file permissions (tests/unprivileged.py).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from corpus import cli
from corpus.pipeline.spec import load_spec

import unprivileged
from conftest import SAMPLE_MODEL, write_spec
from runcli import corpus_cli, law_pages


@pytest.fixture(scope="module")
def spec(shared, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("errors")
    inputs = law_pages(shared, root / "inputs")
    return write_spec(root / "spec.toml", [(inputs, "law", "LicenseRef-JP-Copyright-Art13")])


@contextmanager
def small_filesystem(path: Path, size: str) -> Iterator[None]:
    path.mkdir(parents=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({proc.stderr.strip()}); a full disk cannot be made")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def _error_line(stderr: str) -> str:
    (line,) = [ln for ln in stderr.splitlines() if ln.startswith("error:")]
    return line


def _log_of(line: str) -> Path:
    return Path(line.rsplit("(full traceback: ", 1)[1].rstrip(")"))


def test_a_full_disk_is_one_line_naming_the_file_and_the_log(spec, tmp_path):
    out = tmp_path / "out"
    with small_filesystem(out / "shards", "16k"):
        proc = corpus_cli("run", spec, "--output", out)
        assert proc.returncode == 1, proc.stderr
        line = _error_line(proc.stderr)
        assert f"cannot write {out}/shards/train-00000.parquet" in line and "No space left on device" in line, line
        assert "Traceback" not in proc.stderr and "ray::" not in proc.stderr
        log = _log_of(line)
        assert log.parent == out / "_work" / "logs"
        story = log.read_text(encoding="utf-8")
        assert "Traceback (most recent call last)" in story and "No space left on device" in story


def test_permission_denied_in_a_ray_worker_with_verbose_prints_the_traceback(spec, tmp_path):
    prefix = unprivileged.prefix()
    if prefix is None:
        pytest.skip("running as root without setpriv: no write can be denied")
    out = tmp_path / "out"
    (out / "_work" / "prepared").mkdir(parents=True)
    (out / "_work" / "prepared").chmod(0o555)  # where workers write the prepare checkpoints
    proc = corpus_cli("run", spec, "--output", out, "--verbose", prefix=prefix)
    assert proc.returncode == 1, proc.stderr
    line = _error_line(proc.stderr)
    assert f"cannot write {out}/_work/prepared/" in line and "kept.parquet" in line and "Permission denied" in line, line
    assert "Traceback (most recent call last)" in proc.stderr  # --verbose
    assert "PermissionError" in _log_of(line).read_text(encoding="utf-8")


BAD_VALUES = [  # (spec text added, field named, words of the message)
    ('[boilerplate]\nenabled = "yes"\n', "boilerplate.enabled", "valid boolean"),
    ("[pii]\nenabled = 1\n", "pii.enabled", "valid boolean"),
    ("[extract]\ntimeout_seconds = inf\n", "extract.timeout_seconds", "finite number"),
    ("[extract]\ntimeout_seconds = nan\n", "extract.timeout_seconds", "finite number"),
    ("[dedup.near]\nmin_jaccard = nan\n", "dedup.near.min_jaccard", "finite number"),
    ("[shards]\ntarget_tokens = 2.5\n", "shards.target_tokens", "valid integer"),
    ("[dedup.near]\nngram = 5.0\n", "dedup.near.ngram", "valid integer"),
    ("[limits]\nmax_document_bytes = 1e6\n", "limits.max_document_bytes", "valid integer"),
    ("[ray.documents]\nconcurrency = true\n", "ray.documents.concurrency", "valid integer"),
    ('[shards]\nseed = "1"\n', "shards.seed", "valid integer"),
    ('[pii]\ntypes = "email"\n', "pii.types", "valid list"),
    ("[partitioning]\nmax_files = -1\n", "partitioning.max_files", "greater than 0"),
]


@pytest.mark.parametrize("extra,field,expected", BAD_VALUES, ids=[f"{b[1]}={b[0].split('= ', 1)[1].strip()}" for b in BAD_VALUES])
def test_wrong_types_and_numbers_that_are_not_finite_exit_2_naming_the_field(spec, tmp_path, capsys, extra, field, expected):
    bad = tmp_path / "bad.toml"
    bad.write_text(spec.read_text(encoding="utf-8") + extra, encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["run", str(bad), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{field}:" in err and expected in err, err
    assert not out.exists()


def test_an_integer_where_a_float_is_expected_is_read_as_that_number(spec, tmp_path):
    """TOML writes 30 for thirty seconds; that is not a type confusion (a bool or a string is)."""
    good = tmp_path / "good.toml"
    good.write_text(spec.read_text(encoding="utf-8") + "[extract]\ntimeout_seconds = 30\n", encoding="utf-8")
    assert load_spec(good).spec.extract.timeout_seconds == 30.0


@pytest.mark.parametrize("content", [b"not a model\n", b"", SAMPLE_MODEL.read_bytes()[:200]], ids=["text", "empty", "cut"])
def test_a_tokenizer_file_that_is_not_a_model_exits_2_naming_it(spec, tmp_path, capsys, content):
    model = tmp_path / "bad.model"
    model.write_bytes(content)
    bad = tmp_path / "bad.toml"
    bad.write_text(spec.read_text(encoding="utf-8").replace(str(SAMPLE_MODEL), str(model)), encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["run", str(bad), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"tokenizer.model: {model} is not a sentencepiece model" in err, err
    assert "Traceback" not in err and not out.exists()
