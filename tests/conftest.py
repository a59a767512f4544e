"""Shared fixtures: paths to the real data in ../shared/data and one local Ray per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CORPUS_SHARED_DATA", REPO.parent / "shared" / "data"))
SAMPLE_SPEC = REPO / "pipelines" / "sample.toml"
SAMPLE_MODEL = REPO / "tokenizer-models" / "sample.model"
SAMPLE_DATA = REPO / "data" / "sample"


def pytest_configure(config):  # noqa: ARG001
    if not SHARED.is_dir():
        raise pytest.UsageError(f"real test data not found at {SHARED} (set CORPUS_SHARED_DATA)")
    # Runs record input paths relative to the working directory (corpus.sources.inputs.recorded_path)
    # and tests reopen those locators: run from the repository root, wherever pytest was started.
    os.chdir(REPO)


@pytest.fixture(scope="session")
def shared() -> Path:
    return SHARED


@pytest.fixture(scope="session")
def ray_local():
    """One embedded Ray for all in-process pipeline runs (starting Ray costs seconds)."""
    import ray

    from corpus.pipeline.runner import init_ray

    init_ray(None, 2)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def bpe_model(tmp_path_factory) -> Path:
    """A byte-level BPE ``tokenizer.json`` (vocab 3,000) trained with `corpus tokenizer train --kind bpe`
    on real Japanese text (吾輩は猫である): the Hugging Face kind of tokenizer, next to SAMPLE_MODEL."""
    from corpus.cli import main

    out = tmp_path_factory.mktemp("bpe") / "neko"
    text = SHARED / "wiki" / "aozora_wagahaiwa_nekodearu" / "wagahaiwa_nekodearu.txt"
    assert main(["tokenizer", "train", str(text), "--kind", "bpe", "--vocab-size", "3000", "--output", str(out)]) == 0
    return out.with_name("neko.json")


def write_spec(path: Path, inputs: list[tuple[Path, str, str]], extra: str = "", model: Path = SAMPLE_MODEL) -> Path:
    """A spec file using the sample tokenizer (or ``model``); ``inputs`` are (path, source, licence).

    Unless ``extra`` sets its own ``[license_policy]``, documents with unknown or unregistered
    licences are kept as train-only, so tests about other stages are not decided by licences.
    """
    if "[license_policy]" not in extra:
        extra += "\n[license_policy]\nallow_unknown_for_training = true\n"
    blocks = "\n".join(
        f'[[inputs]]\npath = "{p}"\nsource = "{s}"\nlicense = "{lic}"\n' for p, s, lic in inputs
    )
    path.write_text(
        f'[pipeline]\nname = "test"\n\n{blocks}\n[tokenizer]\nmodel = "{model}"\n\n'
        f'[ray]\nnum_cpus = 2\n{extra}\n',
        encoding="utf-8",
    )
    return path
