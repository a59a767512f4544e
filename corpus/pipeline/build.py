"""Turn a validated spec into the ordered document stages (the only place that knows both)."""

from __future__ import annotations

from typing import Any

from corpus import __version__
from corpus.document import SCHEMA_VERSION
from corpus.extract.stage import ExtractStage
from corpus.filters.quality import QualityStage
from corpus.filters.rules import Profile, load_profile
from corpus.pipeline.spec import LoadedSpec
from corpus.provenance.hashing import object_sha256
from corpus.stage import Stage
from corpus.text.normalize_stage import NormalizeStage
from corpus.tokens.counter import TokenCountStage, model_sha256

#: Stage names in the order they run; "read" and "dedup_exact" are not Stage objects.
STAGE_ORDER = ["read", "extract", "normalize", "quality", "tokens", "dedup_exact", "mix"]


def quality_profile(loaded: LoadedSpec) -> Profile:
    q = loaded.spec.quality
    return load_profile(q.profile, loaded.base).with_thresholds(q.thresholds)


def document_stages(loaded: LoadedSpec) -> list[Stage]:
    """The per-document stages, run inside each partition in this order."""
    s = loaded.spec
    return [
        ExtractStage(s.extract.timeout_seconds, s.extract.include_tables, s.extract.favor_recall),
        NormalizeStage(s.normalize.form),
        QualityStage(quality_profile(loaded)),
        TokenCountStage(str(loaded.resolve(s.tokenizer.model)), s.tokenizer.batch_size),
    ]


def profile_record(profile: Profile) -> dict[str, Any]:
    return {
        "name": profile.name,
        "description": profile.description,
        "rules": [
            {"name": r.name, "signal": r.signal, "bound": r.bound, "threshold": r.threshold, "origin": r.origin}
            for r in profile.rules
        ],
    }


def stage_config_sha256(loaded: LoadedSpec) -> str:
    """Hash of everything that changes per-document results: a checkpoint is reused only if equal."""
    s = loaded.spec
    return object_sha256(
        {
            "version": __version__,
            "schema": SCHEMA_VERSION,
            "extract": s.extract.model_dump(),
            "normalize": s.normalize.model_dump(),
            "quality": profile_record(quality_profile(loaded)),
            "tokenizer": model_sha256(str(loaded.resolve(s.tokenizer.model))),
        }
    )
