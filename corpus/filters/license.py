"""The licence stage: decide each document's licence, with evidence, and apply the spec's policy.

Runs before extraction, on the raw bytes, because the page's own licence signals (rel=license
links, footers) are exactly what extraction strips. Precedence, most authoritative first:

1. the spec input's licence (bulk terms the operator verified, e.g. e-Gov law data, chABSA);
2. the source registry (filters/sources.toml), by URL prefix, URL host, then dataset name;
3. licence grants found on the page (rel=license, CC URL, 政府標準利用規約 / PDL1.0 / CC declaration).

A registry entry whose terms could not be verified sets ``page_grants = true``: there a page's own
grant decides, and the entry's licence (one the default policy rejects) applies only when the page
grants nothing.

Page *restrictions* (無断転載禁止, All rights reserved, CC NC/ND) always win over a more permissive
licence from 1-3: that is a conflict, rejected or flagged per ``on_conflict``, never kept silently.
"May train" and "may redistribute" are decided separately and stored as columns.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from corpus.document import LICENSE_FIELDS
from corpus.extract.charset import DecodeError, decode_bytes
from corpus.filters.license_detect import Signal, detect
from corpus.resources import filters_dir
from corpus.io.hashing import file_sha256
from corpus.stage import Rejection, RowStage

UNKNOWN = "NOASSERTION"
STAGE = "license"



class RegistryError(ValueError):
    """A licence or source registry file that is missing or inconsistent."""


@dataclass(frozen=True)
class License:
    id: str
    name: str
    url: str
    commercial: bool
    modification: bool
    redistribution: bool
    share_alike: bool
    train: bool
    legal_basis: str
    attribution: str


@dataclass(frozen=True)
class Source:
    id: str
    publisher: str
    license: str
    terms_url: str
    checked: str
    review: bool = False
    note: str = ""
    read_from: str = ""
    page_grants: bool = False
    hosts: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()


def default_licenses_path() -> Path:
    return filters_dir() / "licenses.toml"


def default_sources_path() -> Path:
    return filters_dir() / "sources.toml"


def load_licenses(path: Path | None = None) -> dict[str, License]:
    path = path or default_licenses_path()
    if not path.is_file():
        raise RegistryError(f"licence registry not found: {path}")
    out: dict[str, License] = {}
    for i, row in enumerate(tomllib.loads(path.read_text(encoding="utf-8")).get("license", [])):
        try:
            lic = License(**row)
        except TypeError as exc:
            raise RegistryError(f"{path.name} license[{i}]: {exc}") from None
        out[lic.id] = lic
    if UNKNOWN not in out:
        raise RegistryError(f"{path.name}: must define {UNKNOWN}")
    return out


def load_sources(path: Path | None = None, licenses: dict[str, License] | None = None) -> list[Source]:
    path = path or default_sources_path()
    if not path.is_file():
        raise RegistryError(f"source registry not found: {path}")
    out = []
    for i, row in enumerate(tomllib.loads(path.read_text(encoding="utf-8")).get("source", [])):
        try:
            src = Source(**{k: tuple(v) if isinstance(v, list) else v for k, v in row.items()})
        except TypeError as exc:
            raise RegistryError(f"{path.name} source[{i}]: {exc}") from None
        if licenses is not None and src.license not in licenses:
            raise RegistryError(f"{path.name} source {src.id!r}: licence {src.license!r} not in the licence registry")
        out.append(src)
    return out


@dataclass(frozen=True)
class LicensePolicy:
    """What a run accepts. Mirrors the spec's ``[license_policy]`` (kept free of pydantic/pipeline)."""

    allowed: tuple[str, ...]
    require_commercial: bool = False
    require_redistribution: bool = False
    on_conflict: str = "reject"  # reject | flag
    allow_unknown_for_training: bool = False


class SourceIndex:
    """The source registry indexed by host, so matching a document costs a few dict lookups
    instead of a scan of every entry's prefixes and hosts (it runs once per document)."""

    def __init__(self, sources: list[Source]):
        self.prefixes: dict[str, list[tuple[str, Source]]] = {}
        self.hosts: dict[str, Source] = {}
        self.datasets: dict[str, Source] = {}
        for s in sources:
            for p in s.prefixes:
                self.prefixes.setdefault((urlsplit(p).hostname or "").lower(), []).append((p, s))
            for h in s.hosts:
                self.hosts.setdefault(h.lower(), s)
            for d in s.datasets:
                self.datasets.setdefault(d, s)

    def match(self, url: str | None, dataset: str | None) -> Source | None:
        """The registry entry for a document: longest URL prefix, then closest host, then dataset name."""
        if url:
            host = (urlsplit(url).hostname or "").lower()
            prefixed = [(len(p), s) for p, s in self.prefixes.get(host, ()) if url.startswith(p)]
            if prefixed:
                return max(prefixed, key=lambda x: x[0])[1]
            labels = host.split(".")
            for i in range(len(labels)):
                if (s := self.hosts.get(".".join(labels[i:]))) is not None:
                    return s
        if dataset:
            return self.datasets.get(dataset)
        return None


def match_source(sources: list[Source], url: str | None, dataset: str | None) -> Source | None:
    """The registry entry for a document: longest URL prefix, then closest host, then dataset name."""
    return SourceIndex(sources).match(url, dataset)


@dataclass
class Decision:
    """The licence of one document, how it was reached, and what it permits."""

    license: str
    evidence: list[dict[str, Any]] = field(default_factory=list)
    conflict: bool = False
    source: Source | None = None


def page_grant(signals: list[Signal]) -> str:
    """The licence the page grants itself: rel=license > CC URL > text declaration, footer first."""
    grants = [s for s in signals if s.kind == "grant" and s.license]
    rank = {"link_rel": 0, "cc_url": 1, "text": 2}
    grants.sort(key=lambda s: (rank[s.method], s.location != "footer"))
    return grants[0].license if grants else UNKNOWN


def resolve(row: dict[str, Any], licenses: dict[str, License], sources: list[Source] | SourceIndex, signals: list[Signal]) -> Decision:
    """Apply the precedence (spec input > source registry > page grant) and page restrictions."""
    declared = row.get("license") or UNKNOWN
    index = sources if isinstance(sources, SourceIndex) else SourceIndex(sources)
    src = index.match(row.get("url"), row.get("source"))
    evidence: list[dict[str, Any]] = []
    from_page = page_grant(signals)
    page_decides = declared == UNKNOWN and (src is None or (src.page_grants and from_page != UNKNOWN))
    if declared != UNKNOWN:
        chosen = declared
        evidence.append({"rule": "input_license", "method": "bulk_terms", "license": declared, "decisive": True})
    else:
        chosen = src.license if src is not None and not page_decides else from_page
        if src is not None:  # recorded even when the page's own grant decided (page_grants = true)
            evidence.append({
                "rule": f"source_registry:{src.id}", "method": "site_registry", "license": src.license,
                "terms_url": src.terms_url, "checked": src.checked, "review": src.review, "decisive": not page_decides,
            })
    for s in signals:
        evidence.append({**s.to_dict(), "decisive": page_decides and s.kind == "grant" and s.license == chosen})
    # A page's own NC/ND licence restricting itself is not a conflict; anything else restricting is.
    restricts = [s for s in signals if s.kind == "restrict" and s.license != chosen]
    base = licenses.get(chosen)
    conflict = False
    if restricts:
        if chosen == UNKNOWN:
            chosen = restricts[0].license or "LicenseRef-AllRightsReserved"
            if chosen not in licenses and "-NC-" not in chosen and "-ND-" not in chosen:
                chosen = "LicenseRef-AllRightsReserved"
            for e in evidence:
                e["decisive"] = e.get("rule") == restricts[0].rule and e.get("location") == restricts[0].location
        elif base is not None and (base.redistribution or base.commercial):
            conflict = True  # the page forbids what its site or bulk licence allows: page wins
    return Decision(chosen, evidence, conflict, src)


def render_attribution(lic: License | None, src: Source | None, row: dict[str, Any]) -> str:
    """The attribution line this document's licence requires ("" when none is required)."""
    if lic is None or not lic.attribution:
        return ""
    publisher = src.publisher if src else (row.get("source") or "")
    url = row.get("url") or row.get("locator") or ""
    return lic.attribution.format(publisher=publisher, url=url, source=row.get("source") or "", terms_url=src.terms_url if src else lic.url)


def policy_rejection(lic_id: str, lic: License | None, flags: dict[str, Any], policy: LicensePolicy) -> str | None:
    """The rejection reason under ``policy``, or None to keep."""
    if lic is None:
        return None if policy.allow_unknown_for_training else "unregistered_license"
    if lic_id == UNKNOWN:
        return None if policy.allow_unknown_for_training else "unknown_license"
    if lic_id not in policy.allowed:
        return "license_not_allowed"
    if policy.require_commercial and not flags["commercial_ok"]:
        return "license_not_commercial"
    if policy.require_redistribution and not flags["redistribute_ok"]:
        return "license_not_redistributable"
    if not flags["train_ok"]:
        return "license_not_trainable"
    return None


def flags_for(lic: License | None, conflict: bool, policy: LicensePolicy) -> dict[str, Any]:
    """train_ok / redistribute_ok / commercial_ok for a licence; a conflict removes the latter two."""
    if lic is None or lic.id == UNKNOWN:
        return {"train_ok": policy.allow_unknown_for_training, "redistribute_ok": False, "commercial_ok": False,
                "legal_basis": "art30_4_train_only" if policy.allow_unknown_for_training else "none"}
    return {
        "train_ok": lic.train,
        "redistribute_ok": lic.redistribution and not conflict,
        "commercial_ok": lic.commercial and not conflict,
        "legal_basis": "art30_4_train_only" if conflict else lic.legal_basis,
    }


def expected_flags(license_id: str, conflict: bool, licenses: dict[str, License], policy: LicensePolicy) -> dict[str, Any]:
    """What the flags of a kept document must be (used again by ``corpus audit``)."""
    return flags_for(licenses.get(license_id), conflict, policy)


class LicenseStage(RowStage):
    """Detect, resolve and judge each document's licence on its raw HTML."""

    name: ClassVar[str] = STAGE
    added_fields = LICENSE_FIELDS

    def __init__(self, policy: LicensePolicy, licenses_path: str | None = None, sources_path: str | None = None):
        self.policy = policy
        self.licenses_path = licenses_path
        self.sources_path = sources_path
        self.licenses = load_licenses(Path(licenses_path) if licenses_path else None)
        self.sources = load_sources(Path(sources_path) if sources_path else None, self.licenses)
        self.index = SourceIndex(self.sources)

    def signals(self, row: dict[str, Any]) -> list[Signal]:
        raw: bytes = row.get("raw") or b""
        if not raw:
            return []
        try:
            return detect(decode_bytes(raw, row.get("http_charset")).text)
        except DecodeError:
            return []  # undecodable pages are rejected by extract; no page signals to record

    def process_row(self, row: dict[str, Any]) -> dict[str, Any] | Rejection:
        decision = resolve(row, self.licenses, self.index, self.signals(row))
        lic = self.licenses.get(decision.license)
        flags = flags_for(lic, decision.conflict, self.policy)
        evidence = json.dumps(decision.evidence, ensure_ascii=False, sort_keys=True)
        if decision.conflict and self.policy.on_conflict == "reject":
            return Rejection("license_conflict", rule="page_restriction", detail=f"{decision.license}: {evidence}"[:4000])
        reason = policy_rejection(decision.license, lic, flags, self.policy)
        if reason:
            return Rejection(reason, rule=decision.license, detail=evidence[:4000])
        return {
            **row,
            "license": decision.license,
            "license_evidence": evidence,
            "license_conflict": decision.conflict,
            "attribution": render_attribution(lic, decision.source, row),
            **flags,
        }


def registry_record(licenses_path: str | None = None, sources_path: str | None = None) -> dict[str, Any]:
    """Both registries as recorded in the manifest: files, sha256 and the licence rows."""
    lp = Path(licenses_path) if licenses_path else default_licenses_path()
    sp = Path(sources_path) if sources_path else default_sources_path()
    licenses = load_licenses(lp)
    return {
        "licenses_file": str(lp), "licenses_sha256": file_sha256(lp),
        "sources_file": str(sp), "sources_sha256": file_sha256(sp),
        "licenses": {k: vars(v) for k, v in sorted(licenses.items())},
        "sources": [{k: list(v) if isinstance(v, tuple) else v for k, v in vars(s).items()} for s in load_sources(sp, licenses)],
    }
