"""The pipeline spec: TOML, validated completely before any work starts.

A bad spec raises ``SpecError`` whose message names each bad field and what was expected; the
CLI turns it into exit code 2 with nothing written. Types are strict (``enabled = "yes"`` is an
error, not ``true``; an integer field does not take ``2.5``) and numbers must be finite. Paths in a
spec are relative to the spec file; inputs may also be URIs (``s3://``, ``gs://``, ``file://``).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, ValidationError, field_validator

from corpus.filters.rules import ProfileError, load_profile
from corpus.sources.registry import kinds

if TYPE_CHECKING:
    from corpus.filters.eval_sets import EvalSet


class SpecError(ValueError):
    """An invalid pipeline spec; the message is meant for the person who wrote the spec."""


def _once_each(value: list, keys: list[str], what: str) -> list:
    """``value`` unchanged if no key repeats, else a validation error listing the repeated keys."""
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ValueError(f"{what} listed twice: {dupes}")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class InputSpec(_Strict):
    path: str = Field(description="File or directory (WARC, HTML, .txt, JSONL, Parquet, e-Gov law XML, 国会会議録 API XML, PDF), relative to the spec file, or a URI (s3://, gs://, file://).")
    name: str | None = Field(
        None, min_length=1, pattern=r"^[^/#:]+$",
        description="Name recorded paths start with (<name>/<path below the input>); default: the last component of path.",
    )
    source: str = Field(min_length=1, description="Source name recorded on every document.")
    license: str = Field(min_length=1, description="Licence id recorded on every document from this input.")
    format: str | None = Field(
        None, description="Reader for every file under path (a registered reader kind); default: chosen by file name (.xml: by its root element)."
    )
    text_column: str = Field("text", min_length=1, description="JSONL field / Parquet column holding the text.")

    @field_validator("format")
    @classmethod
    def _known_reader(cls, value: str | None) -> str | None:
        if value is not None and value not in kinds():
            raise ValueError(f"unknown format {value!r}; known: {', '.join(kinds())}")
        return value


class InputDefaults(_Strict):
    """Source and licence given to paths passed with ``corpus run --input``."""

    source: str = Field("cli-input", min_length=1)
    license: str = Field("NOASSERTION", min_length=1)


class ExtractSpec(_Strict):
    timeout_seconds: PositiveFloat = Field(
        60.0, le=86400, description="Per-document extraction limit, enforced in a watchdog subprocess; over it is an extraction_timeout rejection."
    )
    include_tables: bool = True
    favor_recall: bool = True


class NormalizeSpec(_Strict):
    form: Literal["NFKC", "NFC", "none"] = "NFKC"
    japanese_punctuation: bool = Field(False, description="Rewrite full-width ，． to 、。 before Unicode normalisation.")


class QualitySpec(_Strict):
    profile: str = Field("swallow-v1", description="Profile name under filters/quality/, or a path to a .toml.")
    thresholds: dict[str, float] = Field(default_factory=dict, description="Rule name -> threshold override.")


class BoilerplateSpec(_Strict):
    """Site chrome lines removed after normalisation (see docs/quality.md).

    Off by default: repeats are counted within a partition, so several captures of one page in
    one partition lose their shared article lines (and the same page's text then depends on which
    partition it landed in), which turns near-duplicates into short fragments before dedup sees them.
    Turn it on for crawls of many distinct pages per site.
    """

    enabled: bool = False
    min_docs: PositiveInt = Field(3, description="A short line on at least this many distinct pages of one site (counted over the whole run) is boilerplate.")
    max_line_chars: PositiveInt = Field(100, description="Longer lines are never treated as repeated boilerplate.")
    known_lines: bool = Field(True, description="Also remove the known Japanese chrome lines of filters/boilerplate/.")


class PiiSpec(_Strict):
    """PII redaction with typed placeholders, after the quality rules and before token counting."""

    enabled: bool = True
    types: list[Literal["email", "phone", "mynumber", "card"]] = Field(
        default_factory=lambda: ["email", "phone", "mynumber", "card"], min_length=1
    )


class ExactDedupSpec(_Strict):
    enabled: bool = True


class NearDedupSpec(_Strict):
    """MinHash-LSH near-duplicate removal (docs/dedup.md); runs after exact dedup."""

    enabled: bool = False
    shingle: Literal["char", "morpheme"] = Field("char", description="Character n-grams of the NFKC text, or fugashi morpheme n-grams.")
    ngram: PositiveInt = Field(5, le=64, description="Shingle length in characters or morphemes.")
    bands: PositiveInt = Field(14, description="LSH bands b (datasketch params=(b, r)); num_perm = bands * rows.")
    rows: PositiveInt = Field(8, description="Signature slots per band r.")
    seed: int = Field(1, ge=0, lt=2**32, description="Seed of the MinHash permutations (datasketch's seed).")
    min_jaccard: float = Field(0.5, ge=0.0, le=1.0, description="A candidate pair is merged only if its estimated Jaccard is at least this; 0 trusts LSH alone.")
    representative: Literal["source_priority", "newest"] = Field(
        "source_priority", description="Which member a cluster keeps: spec input order, longest, doc_id; or newest fetch_time first."
    )
    reference: str | None = Field(None, description="Output directory of an earlier run: documents near-duplicating its corpus are removed.")

    @field_validator("rows")
    @classmethod
    def _perm_limit(cls, v: int, info) -> int:
        if v * info.data.get("bands", 1) > 4096:
            raise ValueError("bands * rows (the number of permutations) must be at most 4096")
        return v


class DedupSpec(_Strict):
    exact: ExactDedupSpec = ExactDedupSpec()
    near: NearDedupSpec = NearDedupSpec()


class TokenizerSpec(_Strict):
    """The target model's tokenizer: token counts, budgets, ``input_ids`` and mixing are in its tokens."""

    model: str = Field(
        description="The target model's tokenizer file, relative to the spec file: a sentencepiece .model or a "
        "Hugging Face tokenizer.json (local file; nothing is downloaded)."
    )
    kind: Literal["sentencepiece", "huggingface"] | None = Field(
        None, description="What the file must be; default: read from the file (a tokenizer.json is JSON)."
    )
    eod_token: str | None = Field(
        None, min_length=1, description="End-of-document token (Megatron export); default: the model's EOS "
        "(sentencepiece eos_id, tokenizer_config.json eos_token beside a tokenizer.json, or a known name such as <|endoftext|>)."
    )
    batch_size: PositiveInt = 256


class EvalSetSpec(_Strict):
    """One evaluation set the corpus must not contain (docs/decontamination.md)."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="Set name recorded in rejections and the manifest.")
    path: str = Field(description="A .jsonl/.jsonl.gz/.parquet/.csv file, or a directory of them, relative to the spec file.")
    text_field: str = Field("text", min_length=1, description="Field/column holding an item's text.")
    id_field: str | None = Field(None, min_length=1, description="Field/column holding the item id; default: <file>:<record number>.")


class DecontaminationSpec(_Strict):
    """Remove documents that contain evaluation items: character n-gram overlap on normalised text.

    Defaults measured on chABSA against quoting, lightly edited and boilerplate-sharing documents
    (benchmarks/decontamination.py; docs/decontamination.md).
    """

    sets: list[EvalSetSpec] = Field(min_length=1)
    method: Literal["ngram_overlap"] = "ngram_overlap"
    ngram: int = Field(13, strict=True, ge=4, le=64, description="Characters per n-gram (letters and digits of the NFKC, lower-cased text).")
    min_overlap: float = Field(0.3, gt=0, le=1, allow_inf_nan=False, description="Share of an item's n-grams that must occur in a document.")
    min_ngrams: int = Field(20, strict=True, ge=1, description="...and at least this many of them (about ngram + min_ngrams - 1 characters).")
    max_item_frequency: int = Field(10, strict=True, ge=1, description="n-grams found in more items than this are the set's own boilerplate and are not indexed.")
    action: Literal["reject", "remove_span"] = Field("reject", description="Reject the document, or cut the matched spans out and keep it.")

    @field_validator("sets")
    @classmethod
    def _unique_names(cls, v: list[EvalSetSpec]) -> list[EvalSetSpec]:
        return _once_each(v, [s.name for s in v], "evaluation set names")


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
    """How inputs are grouped into checkpointed units of work: small files together, large
    splittable files (WARC.gz, JSONL, Parquet) cut into ranges of about ``max_bytes``."""

    max_files: PositiveInt = 256
    max_bytes: PositiveInt = Field(64 * 1024 * 1024, ge=1024, description="Input bytes per partition; larger splittable files are cut into ranges of this size.")


class LimitsSpec(_Strict):
    """How much of one input a worker may hold (docs/limits.md). Over a limit is a ``too_large``
    rejection that says how many bytes were seen; the worker's memory stays within a small multiple."""

    max_document_bytes: PositiveInt = Field(
        64 * 1024 * 1024, ge=1024, le=1024**3,
        description="One document as read: a WARC payload (inflated), an HTML/XML/PDF/text file, a Parquet text cell.",
    )
    max_line_bytes: PositiveInt = Field(64 * 1024 * 1024, ge=1024, le=1024**3, description="One JSONL line.")


class StageResources(_Strict):
    """Ray resources for one stage, as NeMo Curator declares them per stage."""

    num_cpus: PositiveFloat = 1.0
    concurrency: PositiveInt | None = Field(None, description="Parallel workers; default: as many as CPUs allow.")


class RaySpec(_Strict):
    num_cpus: PositiveInt | None = Field(None, description="CPUs of the embedded local Ray (ignored with --address).")
    documents: StageResources = Field(
        StageResources(), description="The run's worker pool: CPUs per worker and how many workers; every task of the run runs on it."
    )


class LicensePolicySpec(_Strict):
    """Which licences a run keeps (corpus/filters/license.py; registries in filters/)."""

    allowed: list[str] = Field(
        default_factory=lambda: [
            "LicenseRef-JP-GSTU-2.0", "LicenseRef-JP-PDL-1.0", "CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0",
            "LicenseRef-JP-Copyright-Art13",
        ],
        description="Licence ids (filters/licenses.toml) a kept document may carry.",
    )
    require_commercial: bool = Field(False, description="Reject documents whose licence forbids commercial use.")
    require_redistribution: bool = Field(False, description="Reject documents that may not be republished (public-release corpus).")
    on_conflict: Literal["reject", "flag"] = Field(
        "reject", description="A page restriction against a more permissive site/bulk licence: reject, or keep with redistribute_ok=false."
    )
    allow_unknown_for_training: bool = Field(False, description="Keep NOASSERTION documents as train-only (art. 30-4) instead of rejecting them.")
    licenses_file: str | None = Field(None, description="Licence registry; default filters/licenses.toml.")
    sources_file: str | None = Field(None, description="Source registry; default filters/sources.toml.")


class DatasheetSpec(_Strict):
    """Dataset-level facts for datasheet.md and croissant.json that no record can supply."""

    url: str = Field("https://example.invalid/jp-corpus", description="Where the dataset is described or published (Croissant url).")
    creator: str = Field("jp-corpus operator", min_length=1)
    version: str = "0.1.0"
    license: str = Field("https://creativecommons.org/licenses/by/4.0/", description="Licence of the datasheet/Croissant metadata itself.")
    contact: str = Field("", description="Takedown / maintenance contact.")


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
    limits: LimitsSpec = LimitsSpec()
    ray: RaySpec = RaySpec()
    boilerplate: BoilerplateSpec = BoilerplateSpec()
    pii: PiiSpec = PiiSpec()
    license_policy: LicensePolicySpec = LicensePolicySpec()
    datasheet: DatasheetSpec = DatasheetSpec()
    mixing: MixingSpec | None = None
    decontamination: DecontaminationSpec | None = None

    @field_validator("inputs")
    @classmethod
    def _unique_paths(cls, v: list[InputSpec]) -> list[InputSpec]:
        _once_each(v, [i.path for i in v], "input paths")
        names = [input_name(i) for i in v]
        clash = sorted({n for n in names if names.count(n) > 1})
        if clash:
            raise ValueError(f"inputs share the name(s) {clash} (their recorded paths would collide): give each a distinct `name`")
        return v


def input_name(inp: InputSpec) -> str:
    """The name an input's recorded paths start with: ``name``, else the last component of ``path``."""
    from corpus.sources.inputs import input_name as default_name

    return inp.name or default_name(inp.path)


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
        """A local spec path, made relative to the spec file and normalised (no ``..``)."""
        p = Path(relative)
        return Path(os.path.normpath(p if p.is_absolute() else self.base / p))

    def location(self, path: str) -> str:
        """A spec path that may also be a URI: URIs as given, local paths resolved like ``resolve``."""
        from corpus.io import storage

        return storage.normalize(path) if storage.is_uri(path) else str(self.resolve(path))


def parse_spec(text: str, origin: str = "<spec>") -> PipelineSpec:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{origin}: not valid TOML: {exc}") from None
    try:
        return PipelineSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"{origin}: {format_validation_error(exc)}") from None


def license_policy_problems(loaded: LoadedSpec) -> list[str]:
    """Registries must load, and every licence id the spec names (allowed, per input, the
    ``--input`` default) must be in the licence registry: a typo would otherwise reject every
    document of an input as ``unknown_license`` after hours of extraction."""
    from corpus.filters.license import RegistryError, load_licenses, load_sources

    pol = loaded.spec.license_policy
    try:
        licenses = load_licenses(loaded.resolve(pol.licenses_file) if pol.licenses_file else None)
        load_sources(loaded.resolve(pol.sources_file) if pol.sources_file else None, licenses)
    except RegistryError as exc:
        return [f"  license_policy: {exc}"]
    named = [("license_policy.allowed", a) for a in pol.allowed]
    named += [(f"inputs[{i}].license", inp.license) for i, inp in enumerate(loaded.spec.inputs)]
    named.append(("input_defaults.license", loaded.spec.input_defaults.license))
    return [f"  {field}: unknown licence id {lic!r}; known: {sorted(licenses)}" for field, lic in named if lic not in licenses]


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


def tokenizer_problems(loaded: LoadedSpec) -> list[str]:
    """The model file must load as a tokenizer of its kind: a file that is not a model would
    otherwise fail in every worker, after the whole prepare phase."""
    from corpus.tokens.tokenizer import TokenizerError, load_tokenizer

    tok = loaded.spec.tokenizer
    try:
        load_tokenizer(loaded.resolve(tok.model), tok.kind, tok.eod_token)
    except TokenizerError as exc:
        return [f"  tokenizer.model: {exc}"]
    return []


def evaluation_sets(loaded: LoadedSpec) -> list[EvalSet]:
    """The spec's evaluation sets (corpus.filters.decontaminate.EvalSet), paths resolved."""
    from corpus.filters.eval_sets import EvalSet

    d = loaded.spec.decontamination
    return [EvalSet(s.name, loaded.resolve(s.path), s.text_field, s.id_field) for s in d.sets] if d else []


def decontamination_problems(loaded: LoadedSpec) -> list[str]:
    """Every evaluation set must be readable to its last record, with text in the named field."""
    from corpus.filters.eval_sets import EvalSetError

    out = []
    for i, s in enumerate(evaluation_sets(loaded)):
        try:
            if sum(1 for _ in s.items()) == 0:  # read to the last record: a bad line must fail now
                out.append(f"  decontamination.sets[{i}].path: {s.path} holds no items")
        except EvalSetError as exc:
            out.append(f"  decontamination.sets[{i}].path: {exc}")
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
            InputSpec(
                path=p if "://" in p else os.path.relpath(Path(p).resolve(), path.parent.resolve()),
                source=defaults.source, license=defaults.license,
            )
            for p in input_overrides
        ]
        spec = spec.model_copy(update={"inputs": inputs})
    loaded = LoadedSpec(spec, path)
    problems = []
    from corpus.io import storage

    for i, inp in enumerate(spec.inputs):
        where = loaded.location(inp.path)
        try:
            found = storage.exists(where)
        except storage.StorageError as exc:
            problems.append(f"  inputs[{i}].path: {inp.path!r} cannot be reached: {exc}")
            continue
        if not found:
            problems.append(f"  inputs[{i}].path: {inp.path!r} does not exist (resolved to {where})")
    problems += tokenizer_problems(loaded)
    try:
        load_profile(spec.quality.profile, loaded.base).with_thresholds(spec.quality.thresholds)
    except ProfileError as exc:
        problems.append(f"  quality: {exc}")
    near = spec.dedup.near
    if near.enabled and near.reference:
        from corpus.dedup.reference import reference_problem

        if problem := reference_problem(loaded.location(near.reference), near.model_dump()):
            problems.append(f"  dedup.near.reference: {problem}")
    problems += license_policy_problems(loaded)
    if spec.mixing is not None:
        problems.extend(mixing_problems(spec))
    if spec.decontamination is not None:
        problems.extend(decontamination_problems(loaded))
    if problems:
        raise SpecError(f"{path}: invalid pipeline spec:\n" + "\n".join(problems))
    return loaded
