"""`corpus audit DIR`: re-verify a finished output from its files, trusting nothing but the bytes.

Checks, each reported as a named finding: every shard, rejected, signature and provenance file
re-hashed against the manifest, and every file in those folders that the manifest does not list;
row and token counts; every shard row's ``text_sha256`` and ``n_chars`` re-derived from its text;
per-stage accounting (in = out + rejected, stages chained, totals) and the rejections on disk by
stage and reason; every kept document's licence against the recorded policy and registry, its
flags, evidence and attribution; every file against its JSON Schema in manifests/; the provenance
records rebuilt from shards and rejections; croissant.json's required properties and per-shard
sha256. Works on a local directory or an object-store URI, streaming every file in batches.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from corpus.filters.license import License, LicensePolicy, flags_for, policy_rejection
from corpus.filters.license_detect import recheck
from corpus.io import storage
from corpus.io.hashing import file_sha256
from corpus.provenance.attribution import ATTRIBUTION_FILE, render as render_attribution
from corpus.provenance.croissant import CROISSANT_FILE, missing_required
from corpus.provenance.records import build_bucket
from corpus.provenance.schemas import validate_object, validate_parquet
from corpus.provenance.summary import summarize

#: Folders whose every file the manifest must list.
LISTED_DIRS = ("shards", "rejected", "signatures", "provenance")
_BATCH = 4096


@dataclass(frozen=True)
class Finding:
    code: str  # e.g. shard_sha256_mismatch, stage_accounting, license_not_allowed
    where: str  # file or document the finding is about
    message: str

    def __str__(self) -> str:
        return f"[{self.code}] {self.where}: {self.message}"


@dataclass
class AuditReport:
    output: str
    findings: list[Finding] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, code: str, where: str, message: str) -> None:
        self.findings.append(Finding(code, where, message))

    def codes(self) -> set[str]:
        return {f.code for f in self.findings}


def _loc(out: str, rel: str) -> str:
    return storage.join(out, rel)


def _check_files(report: AuditReport, out: str, entries: list[dict[str, Any]], kind: str, count_key: str, schema: str | None) -> list[dict[str, Any]]:
    """Existence, sha256, row count and row schema of listed files; returns the readable ones."""
    ok = []
    for e in entries:
        location = _loc(out, e["path"])
        if not storage.is_file(location):
            report.add(f"{kind}_missing", e["path"], "listed in the manifest but not on disk")
            continue
        digest = file_sha256(location)
        if digest != e["sha256"]:
            report.add(f"{kind}_sha256_mismatch", e["path"], f"sha256 {digest} != manifest {e['sha256']}")
        try:
            rows = storage.parquet_rows(location)
        except Exception as exc:
            report.add(f"{kind}_unreadable", e["path"], f"{type(exc).__name__}: {exc}"[:300])
            continue
        if rows != e[count_key]:
            report.add(f"{kind}_rows_mismatch", e["path"], f"{rows} rows on disk, manifest says {e[count_key]}")
        problems = validate_parquet(schema, location, e["path"]) if schema else []
        for msg in problems:
            report.add("schema", e["path"], msg)
        if not any("unreadable Parquet" in m for m in problems):
            ok.append(e)
        elif kind == "shard":
            report.add("shard_unreadable", e["path"], problems[-1])
    return ok


def _check_unlisted(report: AuditReport, out: str, listed: set[str]) -> None:
    for folder in LISTED_DIRS:
        for location, _ in storage.walk(_loc(out, folder)).files if storage.is_dir(_loc(out, folder)) else []:
            rel = storage.relative(location, out)
            if rel not in listed:
                report.add("unlisted_file", rel, "file on disk not listed in the manifest")


def _check_shard_rows(report: AuditReport, out: str, shards: list[dict[str, Any]]) -> tuple[int, pa.Array]:
    """Per row: text_sha256 and n_chars re-derived from the text; token sums. Returns (first-copy
    rows, their doc ids)."""
    kept = 0
    ids = []
    for e in shards:
        location = _loc(out, e["path"])
        names = storage.read_schema(location).names
        cols = [c for c in ("doc_id", "text", "text_sha256", "n_chars", "n_tokens", "copy") if c in names]
        tokens, index, bad = 0, 0, 0
        for batch in storage.parquet_file(location).iter_batches(batch_size=_BATCH, columns=cols):
            t = pa.Table.from_batches([batch])
            tokens += int(pc.sum(t.column("n_tokens")).as_py() or 0)
            first = t.filter(pc.equal(t.column("copy"), 0)) if "copy" in cols else t
            kept += first.num_rows
            ids.append(first.column("doc_id").combine_chunks())
            for doc_id, text, sha, n in zip(*(t.column(c).to_pylist() for c in ("doc_id", "text", "text_sha256", "n_chars"))):
                text = text or ""
                actual = hashlib.sha256(text.encode("utf-8")).hexdigest()
                if actual != sha or len(text) != n:
                    bad += 1
                    if bad <= 5:
                        what = "text_sha256" if actual != sha else "n_chars"
                        report.add("shard_text_mismatch", f"{e['path']} row {index} ({doc_id})", f"{what} does not match the row's text (text edited?)")
                index += 1
        if bad > 5:
            report.add("shard_text_mismatch", e["path"], f"{bad} row(s) in all whose text does not match text_sha256/n_chars")
        if tokens != e["tokens"]:
            report.add("shard_tokens_mismatch", e["path"], f"{tokens} tokens on disk, manifest says {e['tokens']}")
    return kept, pa.concat_arrays(ids) if ids else pa.array([], pa.string())


def _check_accounting(report: AuditReport, out: str, m: dict[str, Any], kept: int, kept_ids: pa.Array, rejected: list[dict[str, Any]]) -> None:
    stages = m["stages"]
    for s in stages:
        if s["in"] != s["out"] + sum(s["rejected"].values()):
            report.add("stage_accounting", f"stage {s['name']}", f"in {s['in']} != out {s['out']} + rejected {sum(s['rejected'].values())}")
    for a, b in zip(stages, stages[1:]):
        if a["out"] != b["in"]:
            report.add("stage_accounting", f"stage {b['name']}", f"in {b['in']} != previous stage {a['name']} out {a['out']}")
    t = m["totals"]
    expected = {"documents_in": stages[0]["in"] if stages else 0, "kept": stages[-1]["out"] if stages else 0,
                "rejected": sum(sum(s["rejected"].values()) for s in stages), "tokens": sum(s["tokens"] for s in m["shards"])}
    for k, v in expected.items():
        if t[k] != v:
            report.add("totals_mismatch", f"totals.{k}", f"manifest says {t[k]}, stages/shards give {v}")
    if t["documents_in"] != t["kept"] + t["rejected"] or not t["accounting_ok"]:
        report.add("totals_mismatch", "totals", f"documents_in {t['documents_in']} != kept {t['kept']} + rejected {t['rejected']} (accounting_ok={t['accounting_ok']})")
    if kept != t["kept"]:
        report.add("kept_count_mismatch", "shards/", f"{kept} documents in shards, manifest kept {t['kept']}")
    on_disk: Counter = Counter()
    ids = [kept_ids]
    for e in rejected:
        tab = storage.read_table(_loc(out, e["path"]), columns=["doc_id", "stage", "reason"])
        g = tab.group_by(["stage", "reason"], use_threads=False).aggregate([("doc_id", "count")])
        for s, r, n in zip(*(g.column(c).to_pylist() for c in ("stage", "reason", "doc_id_count"))):
            on_disk[(s, r)] += n
        ids.append(tab.column("doc_id").combine_chunks())
    recorded = Counter({(s["name"], reason): n for s in stages for reason, n in s["rejected"].items()})
    for key in sorted(set(on_disk) | set(recorded)):
        if on_disk[key] != recorded[key]:
            report.add("rejected_count_mismatch", f"stage {key[0]} reason {key[1]}", f"{on_disk[key]} rejection records on disk, manifest says {recorded[key]}")
    every = pa.concat_arrays(ids)
    counts = pc.value_counts(every)
    dupes = counts.filter(pc.greater(counts.field("counts"), 1))
    for d in dupes.to_pylist()[:20]:
        report.add("doc_id_duplicate", d["values"], f"appears {d['counts']} times across shards and rejections")


def _check_licenses(report: AuditReport, out: str, m: dict[str, Any], shards: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    lic = m["licenses"]
    pol = lic["policy"]
    if pol != m["pipeline"]["spec"]["license_policy"]:
        report.add("license_policy_mismatch", "manifest.licenses.policy", "differs from the resolved spec's [license_policy]")
    registry = {k: License(**v) for k, v in lic["registry"]["licenses"].items()}
    policy = LicensePolicy(tuple(pol["allowed"]), pol["require_commercial"], pol["require_redistribution"], pol["on_conflict"], pol["allow_unknown_for_training"])
    cols = ["doc_id", "license", "license_conflict", "license_evidence", "attribution", "train_ok", "redistribute_ok", "commercial_ok", "legal_basis"]
    for e in shards:
        location = _loc(out, e["path"])
        present = [c for c in cols if c in storage.read_schema(location).names]
        index = 0
        for batch in storage.parquet_file(location).iter_batches(batch_size=_BATCH, columns=present):
            for r in batch.to_pylist():
                _check_license_row(report, f"{e['path']} row {index} ({r['doc_id']})", r, registry, policy)
                index += 1
    attribution = _loc(out, ATTRIBUTION_FILE)
    on_disk = storage.read_text(attribution) if storage.is_file(attribution) else ""
    _check_attribution_file(report, on_disk, render_attribution(summary["attribution"], lic["registry"]["licenses"]))
    for k in ("by_license", "train_ok", "redistribute_ok", "commercial_ok", "conflicts_flagged"):
        if summary["licenses"][k] != lic[k]:
            report.add("license_summary_mismatch", f"manifest.licenses.{k}", f"manifest {lic[k]} != shards {summary['licenses'][k]}")


def _check_license_row(report: AuditReport, where: str, r: dict[str, Any], registry: dict[str, License], policy: LicensePolicy) -> None:
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


def _check_attribution_file(report: AuditReport, on_disk: str, expected: str) -> None:
    """ATTRIBUTION.md must be exactly what the kept rows render to: every (source, licence)
    section with its credit lines, nothing edited. Rebuilt rather than searched line by line,
    so a section that lists its first lines and counts the rest is checked as precisely."""
    if on_disk == expected:
        return
    sections = expected.split("\n## ")[1:]
    missing = [s.split("\n", 1)[0] for s in sections if f"\n## {s}" not in on_disk]
    for header in missing:
        report.add("attribution_missing", ATTRIBUTION_FILE, f"section '## {header}' missing or edited")
    if not missing:
        report.add("attribution_mismatch", ATTRIBUTION_FILE, "differs from the attribution the kept documents require")


def _check_croissant(report: AuditReport, out: str, m: dict[str, Any]) -> None:
    location = _loc(out, CROISSANT_FILE)
    if not storage.is_file(location):
        report.add("croissant_missing", CROISSANT_FILE, "not found")
        return
    try:
        doc = json.loads(storage.read_text(location))
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
        elif objects[s["path"]] != s["sha256"] or (storage.is_file(_loc(out, s["path"])) and file_sha256(_loc(out, s["path"])) != objects[s["path"]]):
            report.add("croissant_sha256", CROISSANT_FILE, f"sha256 of {s['path']} differs from the file or the manifest")
    for p in sorted(set(objects) - {s["path"] for s in m["shards"]}):
        report.add("croissant_sha256", CROISSANT_FILE, f"FileObject {p} is not a shard of this run")


def _check_provenance(report: AuditReport, out: str, m: dict[str, Any], shards: list[dict[str, Any]], rejected: list[dict[str, Any]]) -> None:
    prov = m["provenance"]
    att = prov["attribution"]
    if not storage.is_file(_loc(out, att["path"])):
        report.add("provenance_missing", att["path"], "listed in the manifest but not on disk")
    elif file_sha256(_loc(out, att["path"])) != att["sha256"]:
        report.add("provenance_sha256_mismatch", att["path"], "sha256 differs from the manifest")
    if not storage.is_file(_loc(out, prov["datasheet"]["path"])):
        report.add("provenance_missing", prov["datasheet"]["path"], "datasheet not found")
    card = prov["dataset_card"]
    if not storage.is_file(_loc(out, card["path"])):
        report.add("provenance_missing", card["path"], "dataset card not found")
    elif file_sha256(_loc(out, card["path"])) != card["sha256"]:
        report.add("provenance_sha256_mismatch", card["path"], "sha256 differs from the manifest")
    docs = prov["documents"]
    readable = _check_files(report, out, docs["files"], "provenance", "rows", "provenance")
    outputs = {**m, "shards": shards, "rejected_files": rejected}
    for bucket, e in enumerate(docs["files"]):
        if e not in readable:
            continue
        try:
            rebuilt = build_bucket(out, outputs, bucket, docs["buckets"])
            stored = storage.read_table(_loc(out, e["path"]))
            if not rebuilt.equals(stored):
                a = {r["doc_id"]: r for r in stored.to_pylist()}
                b = {r["doc_id"]: r for r in rebuilt.to_pylist()}
                diff = sorted(d for d in set(a) | set(b) if a.get(d) != b.get(d))
                report.add("provenance_mismatch", e["path"], f"{len(diff)} record(s) differ from shards/rejections, e.g. {diff[:3]}")
        except Exception as exc:
            report.add("provenance_unreadable", e["path"], f"{type(exc).__name__}: {exc}"[:300])


def _check_decontamination(report: AuditReport, m: dict[str, Any], counts: dict[str, Any]) -> None:
    """The per-set removal counts in the manifest, recounted from the rejections and shards."""
    d = m.get("decontamination")
    if d is None:
        return
    for key in ("documents_rejected", "documents_cut"):
        if d[key] != counts[key]:
            report.add("decontamination_mismatch", f"manifest.decontamination.{key}", f"manifest {d[key]} != records {counts[key]}")
    for s in d["sets"]:
        found = counts["sets"].get(s["name"], {"documents_rejected": 0, "documents_cut": 0})
        for key in ("documents_rejected", "documents_cut"):
            if s[key] != found[key]:
                report.add("decontamination_mismatch", f"decontamination set {s['name']}", f"{key}: manifest {s[key]} != records {found[key]}")


def audit(out: str) -> AuditReport:
    """Run every check on the output directory ``out`` (a path or a URI)."""
    out = storage.normalize(str(out))
    report = AuditReport(out)
    try:
        m = json.loads(storage.read_text(_loc(out, "manifest.json")))
    except (OSError, json.JSONDecodeError) as exc:
        report.add("manifest_unreadable", "manifest.json", str(exc))
        return report
    schema_msgs = validate_object("manifest", m, "manifest.json", limit=20)
    for msg in schema_msgs:
        report.add("schema", "manifest.json", msg)
    if schema_msgs:
        return report  # the rest relies on the manifest's shape
    report.checks.append("manifest.json matches manifests/manifest.schema.json")
    shards = _check_files(report, out, m["shards"], "shard", "rows", "shard")
    rejected = _check_files(report, out, m["rejected_files"], "rejected_file", "rows", "rejected")
    signatures = m.get("dedup_near", {}).get("signatures", [])
    _check_files(report, out, signatures, "signature_file", "rows", None)
    listed = {e["path"] for e in m["shards"] + m["rejected_files"] + signatures + m["provenance"]["documents"]["files"]}
    _check_unlisted(report, out, listed)
    report.checks.append(f"{len(m['shards'])} shard(s), {len(m['rejected_files'])} rejected and {len(signatures)} signature file(s) re-hashed, counted and schema-checked; no unlisted files")
    kept, kept_ids = _check_shard_rows(report, out, shards)
    report.checks.append(f"{kept} kept document(s): text_sha256 and n_chars re-derived from every row's text")
    _check_accounting(report, out, m, kept, kept_ids, rejected)
    report.checks.append(f"accounting: {m['totals']['documents_in']} in = {m['totals']['kept']} kept + {m['totals']['rejected']} rejected, per stage and reason")
    summary = summarize(out, shards, rejected)
    _check_licenses(report, out, m, shards, summary)
    report.checks.append("every kept document: licence allowed by policy, flags, evidence, attribution; licence summary and ATTRIBUTION.md rebuilt")
    _check_provenance(report, out, m, shards, rejected)
    _check_decontamination(report, m, summary["decontamination"])
    report.checks.append("provenance records rebuilt from shards and rejections and compared; ATTRIBUTION.md and README.md re-hashed; decontamination counts recounted")
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
