"""The pipeline spec: TOML, validated completely before any work starts.

A bad spec raises ``SpecError`` whose message names each bad field and what was expected; the
CLI turns it into exit code 2 with nothing written. Paths in a spec are relative to the spec file.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, ValidationError, field_validator

from corpus.filters.rules import ProfileError, load_profile


class SpecError(ValueError):
    """An invalid pipeline spec; the message is meant for the person who wrote the spec."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputSpec(_Strict):
    path: str = Field(description="File or directory (WARC, .warc.gz, .html), relative to the spec file.")
    source: str = Field(min_length=1, description="Source name recorded on every document.")
    license: str = Field(min_length=1, description="Licence id recorded on every document from this input.")


class InputDefaults(_Strict):
    """Source and licence given to paths passed with ``corpus run --input``."""

    source: str = Field("cli-input", min_length=1)
    license: str = Field("NOASSERTION", min_length=1)


class ExtractSpec(_Strict):
    timeout_seconds: PositiveFloat = Field(60.0, description="Per-document extraction limit; over it is a rejection.")
    include_tables: bool = True
    favor_recall: bool = True


class NormalizeSpec(_Strict):
    form: Literal["NFKC", "NFC", "none"] = "NFKC"


class QualitySpec(_Strict):
    profile: str = Field("basic", description="Profile name under filters/quality/, or a path to a .toml.")
    thresholds: dict[str, float] = Field(default_factory=dict, description="Rule name -> threshold override.")


class ExactDedupSpec(_Strict):
    enabled: bool = True


class DedupSpec(_Strict):
    exact: ExactDedupSpec = ExactDedupSpec()


class TokenizerSpec(_Strict):
    model: str = Field(description="sentencepiece .model file of the target model, relative to the spec file.")
    batch_size: PositiveInt = 256


class ShardsSpec(_Strict):
    target_tokens: PositiveInt = Field(50_000_000, description="Token budget per shard (last shard may be smaller).")
    row_group_size: PositiveInt = 1024
    tolerance: float = Field(0.1, gt=0, lt=1, description="Shards hold target_tokens * (1 +- tolerance) tokens, last shard excepted.")
    seed: int = Field(0, ge=0, description="Seed of the document order inside shards (a hash of seed and doc_id).")
    validation_fraction: float = Field(0.01, ge=0, lt=1, description="Share of documents (by doc_id hash) in validation shards.")
    input_ids: bool = Field(False, description="Also write the pre-tokenised input_ids column (list<uint32>).")


class MixingSpec(_Strict):
    """Per-source sampling to a token budget, as dolma's mixer does (see docs/shards.md)."""

    target_tokens: PositiveInt | None = Field(
        None, description="Total tokens wanted; weights are then shares of it. Unset: weights are epochs per source."
    )
    weights: dict[str, float] = Field(default_factory=dict, description="Source name -> weight (>= 0); unlisted: default_weight.")
    default_weight: float = Field(1.0, ge=0)
    seed: int = Field(0, ge=0, description="Seed of which documents are picked when a source is down-sampled.")

    @field_validator("weights")
    @classmethod
    def _non_negative(cls, v: dict[str, float]) -> dict[str, float]:
        bad = sorted(k for k, w in v.items() if not w >= 0)
        if bad:
            raise ValueError(f"weights must be >= 0: {bad}")
        return v


class PartitionSpec(_Strict):
    """How input files are grouped into checkpointed units of work (a WARC is always its own)."""

    max_files: PositiveInt = 256
    max_bytes: PositiveInt = 64 * 1024 * 1024


class StageResources(_Strict):
    """Ray resources for one stage, as NeMo Curator declares them per stage."""

    num_cpus: PositiveFloat = 1.0
    concurrency: PositiveInt | None = Field(None, description="Parallel workers; default: as many as CPUs allow.")


class RaySpec(_Strict):
    num_cpus: PositiveInt | None = Field(None, description="CPUs of the embedded local Ray (ignored with --address).")
    shuffle: Literal["hash", "sort"] = Field(
        "hash", description="Ray Data shuffle for dedup/shard grouping: hash (scales out) or sort (less start-up cost on small runs)."
    )
    documents: StageResources = StageResources()
    shards: StageResources = StageResources()


class PipelineMeta(_Strict):
    name: str = Field(min_length=1)
    description: str = ""


class PipelineSpec(_Strict):
    pipeline: PipelineMeta
    inputs: list[InputSpec] = Field(min_length=1)
    input_defaults: InputDefaults = InputDefaults()
    extract: ExtractSpec = ExtractSpec()
    normalize: NormalizeSpec = NormalizeSpec()
    quality: QualitySpec = QualitySpec()
    dedup: DedupSpec = DedupSpec()
    tokenizer: TokenizerSpec
    shards: ShardsSpec = ShardsSpec()
    partitioning: PartitionSpec = PartitionSpec()
    ray: RaySpec = RaySpec()
    mixing: MixingSpec | None = None

    @field_validator("inputs")
    @classmethod
    def _unique_paths(cls, v: list[InputSpec]) -> list[InputSpec]:
        paths = [i.path for i in v]
        dupes = sorted({p for p in paths if paths.count(p) > 1})
        if dupes:
            raise ValueError(f"input paths listed twice: {dupes}")
        return v


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def format_validation_error(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        got = e.get("input")
        shown = "" if isinstance(got, dict) else f" (got {got!r})"
        lines.append(f"  {_loc(e['loc'])}: {e['msg']}{shown}")
    return "invalid pipeline spec:\n" + "\n".join(lines)


class LoadedSpec:
    """A validated spec plus where it came from (relative paths resolve against ``base``)."""

    def __init__(self, spec: PipelineSpec, path: Path):
        self.spec = spec
        self.path = path
        self.base = path.parent

    def resolve(self, relative: str) -> Path:
        """A spec path, made relative to the spec file and normalised (no ``..`` in locators)."""
        p = Path(relative)
        return Path(os.path.normpath(p if p.is_absolute() else self.base / p))


def parse_spec(text: str, origin: str = "<spec>") -> PipelineSpec:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{origin}: not valid TOML: {exc}") from None
    try:
        return PipelineSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"{origin}: {format_validation_error(exc)}") from None


def mixing_problems(spec: PipelineSpec) -> list[str]:
    """Weights must name sources the run actually has, and must not select nothing at all."""
    mix = spec.mixing
    sources = {i.source for i in spec.inputs}
    out = []
    unknown = sorted(set(mix.weights) - sources)
    if unknown:
        out.append(f"  mixing.weights: unknown source(s) {unknown}; sources of this run: {sorted(sources)}")
    if all(mix.weights.get(s, mix.default_weight) == 0 for s in sources):
        out.append("  mixing.weights: every source has weight 0, nothing would be selected")
    return out


def load_spec(path: str | Path, input_overrides: list[str] | None = None) -> LoadedSpec:
    """Parse, validate and check a spec file against the disk (inputs, model, profile).

    ``input_overrides`` (``corpus run --input``) replace the spec's inputs; each gets the source
    and licence of ``[input_defaults]``.
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"spec file not found: {path}")
    spec = parse_spec(path.read_text(encoding="utf-8"), str(path))
    if input_overrides:
        defaults = spec.input_defaults
        inputs = [
            InputSpec(path=os.path.relpath(Path(p).resolve(), path.parent.resolve()), source=defaults.source, license=defaults.license)
            for p in input_overrides
        ]
        spec = spec.model_copy(update={"inputs": inputs})
    loaded = LoadedSpec(spec, path)
    problems = []
    for i, inp in enumerate(spec.inputs):
        if not loaded.resolve(inp.path).exists():
            problems.append(f"  inputs[{i}].path: {inp.path!r} does not exist (resolved to {loaded.resolve(inp.path)})")
    model = loaded.resolve(spec.tokenizer.model)
    if not model.is_file():
        problems.append(f"  tokenizer.model: sentencepiece model {model} not found (train one with `corpus tokenizer train`)")
    try:
        load_profile(spec.quality.profile, loaded.base).with_thresholds(spec.quality.thresholds)
    except ProfileError as exc:
        problems.append(f"  quality: {exc}")
    if spec.mixing is not None:
        problems.extend(mixing_problems(spec))
    if problems:
        raise SpecError(f"{path}: invalid pipeline spec:\n" + "\n".join(problems))
    return loaded
