"""`corpus audit DIR`: re-verify a finished output from its files, trusting nothing but the bytes.

Checks, each reported as a named finding: every shard, rejected, provenance and attribution file
re-hashed against the manifest (and no unlisted files); row and token counts; per-stage accounting
(in = out + rejected, stages chained, totals) and the rejections on disk by stage and reason; every
kept document's licence against the recorded policy and registry, its flags, evidence and
attribution; every file against its JSON Schema in manifests/; the provenance table rebuilt from
shards and rejections; croissant.json's required properties and per-shard sha256.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from corpus.filters.license_detect import recheck
from corpus.filters.license import License, LicensePolicy, flags_for, policy_rejection
from corpus.provenance.croissant import CROISSANT_FILE, missing_required
from corpus.provenance.hashing import file_sha256
from corpus.provenance.attribution import render as render_attribution
from corpus.provenance.records import build_records, kept_rows, license_summary, rejected_rows
from corpus.provenance.schemas import validate_object, validate_parquet


@dataclass(frozen=True)
class Finding:
    code: str  # e.g. shard_sha256_mismatch, stage_accounting, license_not_allowed
    where: str  # file or document the finding is about
    message: str

    def __str__(self) -> str:
        return f"[{self.code}] {self.where}: {self.message}"


@dataclass
class AuditReport:
    output: Path
    findings: list[Finding] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, code: str, where: str, message: str) -> None:
        self.findings.append(Finding(code, where, message))

    def codes(self) -> set[str]:
        return {f.code for f in self.findings}


def _check_files(report: AuditReport, out: Path, entries: list[dict[str, Any]], kind: str, subdir: str, count_key: str) -> None:
    """Existence, sha256, row count and row schema of listed files; files on disk not listed."""
    listed = {e["path"] for e in entries}
    for e in entries:
        path = out / e["path"]
        if not path.is_file():
            report.add(f"{kind}_missing", e["path"], "listed in the manifest but not on disk")
            continue
        digest = file_sha256(path)
        if digest != e["sha256"]:
            report.add(f"{kind}_sha256_mismatch", e["path"], f"sha256 {digest} != manifest {e['sha256']}")
        try:
            rows = pq.read_metadata(path).num_rows
        except Exception as exc:
            report.add(f"{kind}_unreadable", e["path"], f"{type(exc).__name__}: {exc}"[:300])
            continue
        if rows != e[count_key]:
            report.add(f"{kind}_rows_mismatch", e["path"], f"{rows} rows on disk, manifest says {e[count_key]}")
        for msg in validate_parquet(kind if kind != "rejected_file" else "rejected", path, e["path"]):
            report.add("schema", e["path"], msg)
        if kind == "shard":
            try:
                tokens = sum(pq.read_table(path, columns=["n_tokens"]).column("n_tokens").to_pylist())
            except Exception as exc:
                report.add(f"{kind}_unreadable", e["path"], f"{type(exc).__name__}: {exc}"[:300])
                continue
            if tokens != e["tokens"]:
                report.add("shard_tokens_mismatch", e["path"], f"{tokens} tokens on disk, manifest says {e['tokens']}")
    for path in sorted((out / subdir).glob("*.parquet")) if (out / subdir).is_dir() else []:
        rel = f"{subdir}/{path.name}"
        if rel not in listed:
            report.add("unlisted_file", rel, "file on disk not listed in the manifest")


def _readable(out: Path, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Listed files that exist and decode in full (the others are already findings)."""
    ok = []
    for e in entries:
        try:
            pq.read_table(out / e["path"]).validate(full=True)  # full: also checks UTF-8 of strings
            ok.append(e)
        except Exception:
            pass
    return ok


def _check_accounting(report: AuditReport, m: dict[str, Any], kept: list[dict], rejected: list[dict]) -> None:
    stages = m["stages"]
    for s in stages:
        if s["in"] != s["out"] + sum(s["rejected"].values()):
            report.add("stage_accounting", f"stage {s['name']}", f"in {s['in']} != out {s['out']} + rejected {sum(s['rejected'].values())}")
    for a, b in zip(stages, stages[1:]):
        if a["out"] != b["in"]:
            report.add("stage_accounting", f"stage {b['name']}", f"in {b['in']} != previous stage {a['name']} out {a['out']}")
    t = m["totals"]
    rej_total = sum(sum(s["rejected"].values()) for s in stages)
    expected = {"documents_in": stages[0]["in"], "kept": stages[-1]["out"], "rejected": rej_total,
                "tokens": sum(s["tokens"] for s in m["shards"])}
    for k, v in expected.items():
        if t[k] != v:
            report.add("totals_mismatch", f"totals.{k}", f"manifest says {t[k]}, stages/shards give {v}")
    if t["documents_in"] != t["kept"] + t["rejected"] or not t["accounting_ok"]:
        report.add("totals_mismatch", "totals", f"documents_in {t['documents_in']} != kept {t['kept']} + rejected {t['rejected']} (accounting_ok={t['accounting_ok']})")
    if len(kept) != t["kept"]:
        report.add("kept_count_mismatch", "shards/", f"{len(kept)} documents in shards, manifest kept {t['kept']}")
    on_disk = Counter((r["stage"], r["reason"]) for r in rejected)
    recorded = Counter({(s["name"], reason): n for s in stages for reason, n in s["rejected"].items()})
    for key in sorted(set(on_disk) | set(recorded)):
        if on_disk[key] != recorded[key]:
            report.add("rejected_count_mismatch", f"stage {key[0]} reason {key[1]}", f"{on_disk[key]} rejection records on disk, manifest says {recorded[key]}")
    ids = Counter([r["doc_id"] for r in kept] + [r["doc_id"] for r in rejected])
    for doc_id, n in ids.items():
        if n > 1:
            report.add("doc_id_duplicate", doc_id, f"appears {n} times across shards and rejections")


def _check_licenses(report: AuditReport, out: Path, m: dict[str, Any], kept: list[dict], readable_shards: list[dict]) -> None:
    lic = m["licenses"]
    pol = lic["policy"]
    if pol != m["pipeline"]["spec"]["license_policy"]:
        report.add("license_policy_mismatch", "manifest.licenses.policy", "differs from the resolved spec's [license_policy]")
    registry = {k: License(**v) for k, v in lic["registry"]["licenses"].items()}
    policy = LicensePolicy(tuple(pol["allowed"]), pol["require_commercial"], pol["require_redistribution"], pol["on_conflict"], pol["allow_unknown_for_training"])
    attribution_md = (out / "ATTRIBUTION.md").read_text(encoding="utf-8") if (out / "ATTRIBUTION.md").is_file() else ""
    for r in kept:
        where = f"{r['_shard']} row {r['_row']} ({r['doc_id']})"
        lid = r.get("license")
        entry = registry.get(lid)
        flags = flags_for(entry, bool(r.get("license_conflict")), policy)
        reason = policy_rejection(lid, entry, flags, policy)
        if reason:
            report.add("license_not_allowed", where, f"licence {lid!r}: {reason} under the recorded policy")
        for f in ("train_ok", "redistribute_ok", "commercial_ok", "legal_basis"):
            if r.get(f) != flags[f]:
                report.add("license_flags", where, f"{f}={r.get(f)!r} but licence {lid!r} gives {flags[f]!r}")
        try:
            evidence = json.loads(r.get("license_evidence") or "[]")
        except json.JSONDecodeError:
            evidence = None
        decisive = [e for e in evidence or [] if e.get("decisive")]
        for e in decisive:
            if not recheck(e):
                report.add("license_evidence", where, f"decisive evidence {e.get('rule')!r} does not support {e.get('license')!r}: {str(e.get('snippet'))[:80]}")
        if evidence is None or (lid != "NOASSERTION" and not any(e.get("license") == lid for e in decisive)):
            report.add("license_evidence", where, f"no decisive evidence for licence {lid!r}")
        if entry is not None and entry.attribution and not r.get("attribution"):
            report.add("attribution_missing", where, f"licence {lid!r} requires attribution; none recorded")
    _check_attribution_file(report, attribution_md, kept, lic["registry"]["licenses"])
    summary = license_summary(out, {**m, "shards": readable_shards}, pol, lic["registry"])
    for k in ("by_license", "train_ok", "redistribute_ok", "commercial_ok", "conflicts_flagged"):
        if summary[k] != lic[k]:
            report.add("license_summary_mismatch", f"manifest.licenses.{k}", f"manifest {lic[k]} != shards {summary[k]}")


def _check_attribution_file(report: AuditReport, on_disk: str, kept: list[dict], licenses: dict[str, Any]) -> None:
    """ATTRIBUTION.md must be exactly what the kept rows render to: every (source, licence)
    section with its credit lines, nothing edited. Rebuilt rather than searched line by line,
    so a section that lists its first lines and counts the rest is checked as precisely."""
    expected = render_attribution(kept, licenses)
    if on_disk == expected:
        return
    sections = expected.split("\n## ")[1:]
    missing = [s.split("\n", 1)[0] for s in sections if f"\n## {s}" not in on_disk]
    for header in missing:
        report.add("attribution_missing", "ATTRIBUTION.md", f"section '## {header}' missing or edited")
    if not missing:
        report.add("attribution_mismatch", "ATTRIBUTION.md", "differs from the attribution the kept documents require")


def _check_croissant(report: AuditReport, out: Path, m: dict[str, Any]) -> None:
    path = out / CROISSANT_FILE
    if not path.is_file():
        report.add("croissant_missing", CROISSANT_FILE, "not found")
        return
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        report.add("croissant_invalid", CROISSANT_FILE, str(exc))
        return
    for k in missing_required(doc):
        report.add("croissant_required", CROISSANT_FILE, f"required property {k!r} missing or empty")
    for msg in validate_object("croissant", doc, CROISSANT_FILE):
        report.add("schema", CROISSANT_FILE, msg)
    objects = {d.get("contentUrl"): d.get("sha256") for d in doc.get("distribution", []) if d.get("@type") == "cr:FileObject"}
    for s in m["shards"]:
        if s["path"] not in objects:
            report.add("croissant_sha256", CROISSANT_FILE, f"no FileObject for {s['path']}")
        elif objects[s["path"]] != s["sha256"] or ((out / s["path"]).is_file() and file_sha256(out / s["path"]) != objects[s["path"]]):
            report.add("croissant_sha256", CROISSANT_FILE, f"sha256 of {s['path']} differs from the file or the manifest")
    extra = set(objects) - {s["path"] for s in m["shards"]}
    for p in sorted(extra):
        report.add("croissant_sha256", CROISSANT_FILE, f"FileObject {p} is not a shard of this run")


def _check_provenance(report: AuditReport, out: Path, m: dict[str, Any]) -> None:
    prov = m["provenance"]
    for key in ("documents", "attribution"):
        e = prov[key]
        path = out / e["path"]
        if not path.is_file():
            report.add("provenance_missing", e["path"], "listed in the manifest but not on disk")
        elif file_sha256(path) != e["sha256"]:
            report.add("provenance_sha256_mismatch", e["path"], "sha256 differs from the manifest")
    if not (out / prov["datasheet"]["path"]).is_file():
        report.add("provenance_missing", prov["datasheet"]["path"], "datasheet not found")
    card = prov["dataset_card"]
    if not (out / card["path"]).is_file():
        report.add("provenance_missing", card["path"], "dataset card not found")
    elif file_sha256(out / card["path"]) != card["sha256"]:
        report.add("provenance_sha256_mismatch", card["path"], "sha256 differs from the manifest")
    docs = out / prov["documents"]["path"]
    if docs.is_file():
        for msg in validate_parquet("provenance", docs, prov["documents"]["path"]):
            report.add("schema", prov["documents"]["path"], msg)
        try:
            rebuilt = build_records(out, {**m, "shards": _readable(out, m["shards"]), "rejected_files": _readable(out, m["rejected_files"])})
            stored = pq.read_table(docs)
            if not rebuilt.equals(stored):
                a = {r["doc_id"]: r for r in stored.to_pylist()}
                b = {r["doc_id"]: r for r in rebuilt.to_pylist()}
                diff = sorted(d for d in set(a) | set(b) if a.get(d) != b.get(d))
                report.add("provenance_mismatch", prov["documents"]["path"], f"{len(diff)} record(s) differ from shards/rejections, e.g. {diff[:3]}")
        except Exception as exc:
            report.add("provenance_unreadable", prov["documents"]["path"], f"{type(exc).__name__}: {exc}"[:300])


def _check_decontamination(report: AuditReport, m: dict[str, Any], kept: list[dict], rejected: list[dict]) -> None:
    """The per-set removal counts in the manifest, recounted from the rejections and shards."""
    from corpus.filters.decontaminate import removal_counts

    d = m.get("decontamination")
    if d is None:
        return
    counts = removal_counts(rejected, kept)
    for key in ("documents_rejected", "documents_cut"):
        if d[key] != counts[key]:
            report.add("decontamination_mismatch", f"manifest.decontamination.{key}", f"manifest {d[key]} != records {counts[key]}")
    for s in d["sets"]:
        found = counts["sets"].get(s["name"], {"documents_rejected": 0, "documents_cut": 0})
        for key in ("documents_rejected", "documents_cut"):
            if s[key] != found[key]:
                report.add("decontamination_mismatch", f"decontamination set {s['name']}", f"{key}: manifest {s[key]} != records {found[key]}")


def audit(out: Path) -> AuditReport:
    """Run every check on the output directory ``out``."""
    report = AuditReport(out)
    mpath = out / "manifest.json"
    try:
        m = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        report.add("manifest_unreadable", "manifest.json", str(exc))
        return report
    schema_msgs = validate_object("manifest", m, "manifest.json", limit=20)
    for msg in schema_msgs:
        report.add("schema", "manifest.json", msg)
    if schema_msgs:
        return report  # the rest relies on the manifest's shape
    report.checks.append("manifest.json matches manifests/manifest.schema.json")
    _check_files(report, out, m["shards"], "shard", "shards", "docs")
    _check_files(report, out, m["rejected_files"], "rejected_file", "rejected", "rows")
    report.checks.append(f"{len(m['shards'])} shard(s) and {len(m['rejected_files'])} rejected file(s) re-hashed, counted and schema-checked")
    readable_shards = _readable(out, m["shards"])
    kept = kept_rows(out, readable_shards)
    rejected = rejected_rows(out, _readable(out, m["rejected_files"]))
    _check_accounting(report, m, kept, rejected)
    report.checks.append(f"accounting: {m['totals']['documents_in']} in = {m['totals']['kept']} kept + {m['totals']['rejected']} rejected, per stage and reason")
    _check_licenses(report, out, m, kept, readable_shards)
    report.checks.append(f"{len(kept)} kept document(s): licence allowed by policy, flags, evidence, attribution")
    _check_decontamination(report, m, kept, rejected)
    _check_provenance(report, out, m)
    report.checks.append("provenance/documents.parquet, ATTRIBUTION.md and README.md re-hashed; provenance rebuilt and compared; decontamination counts recounted")
    _check_croissant(report, out, m)
    report.checks.append("croissant.json: required properties, schema, per-shard sha256")
    return report


def format_report(report: AuditReport) -> str:
    lines = [f"audit {report.output}"]
    lines += [f"  checked: {c}" for c in report.checks]
    if report.ok:
        lines.append("  OK: no discrepancies")
    else:
        lines.append(f"  FAILED: {len(report.findings)} discrepancy(ies)")
        lines += [f"  - {f}" for f in report.findings]
    return "\n".join(lines)
