"""Turn a validated spec into the ordered document stages (the only place that knows both)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from corpus import __version__
from corpus.document import SCHEMA_VERSION
from corpus.dedup.minhash import MinHasher
from corpus.dedup.reference import signature_settings
from corpus.extract.stage import ExtractStage
from corpus.filters.boilerplate import BoilerplateStage
from corpus.filters.decontaminate import DecontaminateStage
from corpus.filters.overlap_index import Method, build_index
from corpus.filters.pii import PiiStage
from corpus.filters.license import LicensePolicy, LicenseStage, default_licenses_path, default_sources_path
from corpus.filters.quality import QualityStage
from corpus.filters.rules import Profile, load_profile
from corpus.io.hashing import file_sha256, object_sha256
from corpus.pipeline.spec import LoadedSpec, evaluation_sets
from corpus.stage import Stage
from corpus.text.normalize_stage import NormalizeStage
from corpus.tokens.counter import TokenCountStage
from corpus.tokens.tokenizer import Tokenizer, load_tokenizer, model_sha256

def quality_profile(loaded: LoadedSpec) -> Profile:
    q = loaded.spec.quality
    return load_profile(q.profile, loaded.base).with_thresholds(q.thresholds)


def prepare_stages(loaded: LoadedSpec) -> list[Stage]:
    """The prepare phase's stages, in order (after reading): what turns bytes into normalised text."""
    s = loaded.spec
    return [
        license_stage(loaded),  # on the raw bytes, before extract drops them
        ExtractStage(s.extract.timeout_seconds, s.extract.include_tables, s.extract.favor_recall, s.limits.max_document_bytes),
        NormalizeStage(s.normalize.form, s.normalize.japanese_punctuation),
    ]


def judge_stages(loaded: LoadedSpec, decontamination_index: str | None = None) -> list[Stage]:
    """The judge phase's stages, in order: what decides on, cleans and counts normalised text.
    The boilerplate stage is given each partition's run-wide repeated lines by the worker; the
    decontamination stage reads the index the driver built (``build_decontamination_index``)."""
    s = loaded.spec
    b = s.boilerplate
    return [
        *([BoilerplateStage(b.min_docs, b.max_line_chars, b.known_lines)] if b.enabled else []),
        QualityStage(quality_profile(loaded)),
        *([DecontaminateStage(decontamination_index, decontamination_method(loaded), s.decontamination.action)] if s.decontamination else []),
        *([PiiStage(tuple(s.pii.types))] if s.pii.enabled else []),
        TokenCountStage(run_tokenizer(loaded), s.tokenizer.batch_size),
    ]


def decontamination_method(loaded: LoadedSpec) -> Method:
    d = loaded.spec.decontamination
    return Method(d.ngram, d.min_overlap, d.min_ngrams, d.max_item_frequency)


def build_decontamination_index(loaded: LoadedSpec, work: str) -> str | None:
    """Build the evaluation-set index once, on the driver, and return where workers find it:
    ``<work>/decontamination/<key>`` (uploaded there when the work directory is on an object store;
    each worker then keeps a local copy to memory-map)."""
    if not loaded.spec.decontamination:
        return None
    from corpus.io import storage

    local_root = Path(tempfile.gettempdir()) / "corpus-decontamination" if storage.is_uri(work) else Path(work) / "decontamination"
    built = build_index(evaluation_sets(loaded), decontamination_method(loaded), local_root)
    if not storage.is_uri(work):
        return str(built)
    target = storage.join(work, "decontamination", built.name)
    if not storage.is_file(storage.join(target, "meta.json")):
        for f in sorted(built.iterdir()):
            if f.name != "meta.json":
                storage.write_bytes(storage.join(target, f.name), f.read_bytes())
        storage.write_bytes(storage.join(target, "meta.json"), (built / "meta.json").read_bytes())  # the marker, last
    return target


def run_tokenizer(loaded: LoadedSpec) -> Tokenizer:
    """The spec's tokenizer, loaded and checked (counting, ``input_ids`` and the manifest use this one)."""
    t = loaded.spec.tokenizer
    return load_tokenizer(loaded.resolve(t.model), t.kind, t.eod_token)


def boilerplate_line_chars(loaded: LoadedSpec) -> int | None:
    """How long a line the prepare phase counts for boilerplate (None: boilerplate removal is off)."""
    b = loaded.spec.boilerplate
    return b.max_line_chars if b.enabled else None


def license_stage(loaded: LoadedSpec) -> LicenseStage:
    pol = loaded.spec.license_policy
    policy = LicensePolicy(tuple(pol.allowed), pol.require_commercial, pol.require_redistribution, pol.on_conflict, pol.allow_unknown_for_training)
    paths = [str(loaded.resolve(p)) if p else None for p in (pol.licenses_file, pol.sources_file)]
    return LicenseStage(policy, *paths)


def near_hasher(loaded: LoadedSpec) -> MinHasher | None:
    """The MinHash signer partitions run when near dedup is on (signatures go in the checkpoint)."""
    near = loaded.spec.dedup.near
    if not near.enabled:
        return None
    return MinHasher(near.bands * near.rows, near.seed, near.shingle, near.ngram)


def profile_record(profile: Profile) -> dict[str, Any]:
    return {
        "name": profile.name,
        "description": profile.description,
        "rules": [
            {"name": r.name, "signal": r.signal, "bound": r.bound, "threshold": r.threshold, "origin": r.origin}
            for r in profile.rules
        ],
    }


def license_registries_sha256(loaded: LoadedSpec) -> list[str]:
    stage = license_stage(loaded)
    return [file_sha256(p) for p in (stage.licenses_path or default_licenses_path(), stage.sources_path or default_sources_path())]


def prepare_config_sha256(loaded: LoadedSpec) -> str:
    """Hash of everything that changes a prepared partition: a prepare checkpoint is reused only if equal."""
    s = loaded.spec
    return object_sha256(
        {
            "version": __version__,
            "schema": SCHEMA_VERSION,
            "extract": s.extract.model_dump(),
            "limits": s.limits.model_dump(),  # a document rejected as too_large under one limit may be read under another
            "normalize": s.normalize.model_dump(),
            "license": {"policy": s.license_policy.model_dump(), "registries": license_registries_sha256(loaded)},
            "boilerplate_line_chars": boilerplate_line_chars(loaded),
        }
    )


def judge_config_sha256(loaded: LoadedSpec) -> str:
    """Hash of the judge phase's settings (a judge key adds the prepared key and the repeated lines)."""
    s = loaded.spec
    optional = {"near_signatures": signature_settings(s.dedup.near.model_dump())} if s.dedup.near.enabled else {}
    if s.decontamination:  # the sets' bytes, not only their paths: an edited set re-judges
        optional["decontamination"] = {**s.decontamination.model_dump(), "sets_sha256": [e.sha256() for e in evaluation_sets(loaded)]}
    return object_sha256(
        {
            **optional,
            "version": __version__,
            "schema": SCHEMA_VERSION,
            "quality": profile_record(quality_profile(loaded)),
            "boilerplate": s.boilerplate.model_dump(),
            "pii": s.pii.model_dump(),
            "tokenizer": model_sha256(str(loaded.resolve(s.tokenizer.model))),
        }
    )


def stage_config_sha256(loaded: LoadedSpec) -> str:
    """Hash of every per-document setting, both phases (the manifest records it)."""
    return object_sha256({"prepare": prepare_config_sha256(loaded), "judge": judge_config_sha256(loaded)})
