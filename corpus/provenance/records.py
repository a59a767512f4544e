"""Per-document provenance records and the manifest's licence summary, built from the run's output.

``DIR/provenance/documents.parquet`` has one row per document that entered the run, kept or
dropped: where it came from, its licence and evidence, each stage's decision with its scores, and
where it ended (shard + row, or rejected file + stage + reason). It is derived only from the shards
and rejected files, so ``corpus audit`` can rebuild it and compare.

``finish_run`` is the one call the runner makes: it adds ``licenses`` and ``provenance`` to the
manifest and writes provenance, ATTRIBUTION.md, datasheet.md and croissant.json.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.provenance.hashing import file_sha256

PROVENANCE_FILE = "provenance/documents.parquet"

PROVENANCE_SCHEMA = pa.schema([
    pa.field("doc_id", pa.string(), nullable=False),
    pa.field("status", pa.string(), nullable=False),
    pa.field("source", pa.string()),
    pa.field("locator", pa.string(), nullable=False),
    pa.field("url", pa.string()),
    pa.field("input_path", pa.string()),
    pa.field("fetch_time", pa.string()),
    pa.field("raw_sha256", pa.string()),
    pa.field("text_sha256", pa.string()),
    pa.field("license", pa.string()),
    pa.field("legal_basis", pa.string()),
    pa.field("license_evidence", pa.string()),
    pa.field("license_conflict", pa.bool_()),
    pa.field("train_ok", pa.bool_()),
    pa.field("redistribute_ok", pa.bool_()),
    pa.field("commercial_ok", pa.bool_()),
    pa.field("attribution", pa.string()),
    pa.field("n_tokens", pa.int64()),
    pa.field("stages", pa.string(), nullable=False),
    pa.field("shard", pa.string()),
    pa.field("row", pa.int64()),
    pa.field("rejected_file", pa.string()),
    pa.field("drop_stage", pa.string()),
    pa.field("drop_reason", pa.string()),
    pa.field("duplicate_of", pa.string()),
])

#: What each stage contributes to a kept document's lineage (scores are data, shown per stage).
STAGE_FACTS = {
    "read": ["locator", "raw_sha256", "fetch_time"],
    "license": ["license", "legal_basis", "train_ok", "redistribute_ok", "commercial_ok", "license_conflict"],
    "extract": ["charset", "charset_evidence", "title"],
    "normalize": ["n_chars", "text_sha256"],
    "decontaminate": ["decontam_removed"],
    "tokens": ["n_tokens"],
}


def kept_rows(output: Path, shards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every kept row without its text, tagged with its shard path and row number."""
    rows = []
    for entry in shards:
        path = output / entry["path"]
        names = [n for n in pq.read_schema(path).names if n != "text"]
        for i, row in enumerate(pq.read_table(path, columns=names).to_pylist()):
            rows.append({**row, "_shard": entry["path"], "_row": i})
    return rows


def rejected_rows(output: Path, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for entry in files:
        for row in pq.read_table(output / entry["path"]).to_pylist():
            rows.append({**row, "_file": entry["path"]})
    return rows


def _stage_names(manifest: dict[str, Any]) -> list[str]:
    return [s["name"] for s in manifest["stages"]]


def kept_lineage(row: dict[str, Any], stages: list[str]) -> list[dict[str, Any]]:
    out = []
    for name in stages:
        facts = {k: row.get(k) for k in STAGE_FACTS.get(name, []) if k in row}
        if name == "quality":
            facts = {k: row[k] for k in sorted(row) if k.startswith("q_")}
        out.append({"stage": name, "decision": "kept", **({"scores": facts} if facts else {})})
    return out


def rejected_lineage(row: dict[str, Any], stages: list[str]) -> list[dict[str, Any]]:
    out = []
    for name in stages:
        if name == row["stage"]:
            out.append({"stage": name, "decision": "rejected", **{k: row.get(k) for k in ("reason", "rule", "value", "threshold", "detail", "duplicate_of") if row.get(k) is not None}})
            break
        out.append({"stage": name, "decision": "kept"})
    return out


def _evidence_of_rejection(row: dict[str, Any]) -> str | None:
    """Licence rejections carry their evidence JSON in ``detail`` (after ``<licence>: `` for conflicts)."""
    if row["stage"] != "license" or not row.get("detail"):
        return None
    detail = row["detail"]
    return detail[detail.index("[") :] if "[" in detail else detail


def build_records(output: Path, manifest: dict[str, Any]) -> pa.Table:
    """The provenance table, sorted by doc_id (deterministic for the same output)."""
    stages = _stage_names(manifest)
    records = []
    for r in kept_rows(output, manifest["shards"]):
        records.append({
            **{k: r.get(k) for k in PROVENANCE_SCHEMA.names},
            "status": "kept", "stages": json.dumps(kept_lineage(r, stages), ensure_ascii=False, sort_keys=True),
            "shard": r["_shard"], "row": r["_row"],
        })
    for r in rejected_rows(output, manifest["rejected_files"]):
        records.append({
            "doc_id": r["doc_id"], "status": "rejected", "source": r.get("source"), "locator": r["locator"],
            "url": r.get("url"), "input_path": r.get("input_path"), "fetch_time": r.get("fetch_time"),
            "raw_sha256": r.get("raw_sha256"), "license": r.get("license"),
            "license_evidence": _evidence_of_rejection(r),
            "stages": json.dumps(rejected_lineage(r, stages), ensure_ascii=False, sort_keys=True),
            "rejected_file": r["_file"], "drop_stage": r["stage"], "drop_reason": r["reason"], "duplicate_of": r.get("duplicate_of"),
        })
    records.sort(key=lambda x: (x["doc_id"], x["status"]))
    return pa.Table.from_pylist([{f.name: x.get(f.name) for f in PROVENANCE_SCHEMA} for x in records], schema=PROVENANCE_SCHEMA)


def write_records(output: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    path = output / PROVENANCE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    table = build_records(output, manifest)
    pq.write_table(table, path, compression="zstd")
    return {"path": PROVENANCE_FILE, "sha256": file_sha256(path), "rows": table.num_rows}


def license_summary(output: Path, manifest: dict[str, Any], policy: dict[str, Any], registry: dict[str, Any]) -> dict[str, Any]:
    """Docs and tokens per licence and per permission flag, with the policy and registry applied."""
    by_license: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    flags = {f: {"docs": 0, "tokens": 0} for f in ("train_ok", "redistribute_ok", "commercial_ok")}
    conflicts = 0
    for r in kept_rows(output, manifest["shards"]):
        entry = by_license[r.get("license") or "NOASSERTION"]
        entry["docs"] += 1
        entry["tokens"] += r.get("n_tokens") or 0
        for f in flags:
            if r.get(f):
                flags[f]["docs"] += 1
                flags[f]["tokens"] += r.get("n_tokens") or 0
                entry[f] += 1
            else:
                entry.setdefault(f, 0)
        conflicts += bool(r.get("license_conflict"))
    license_stage = next((s for s in manifest["stages"] if s["name"] == "license"), {"rejected": {}})
    return {
        "policy": policy,
        "registry": registry,
        "by_license": {k: dict(sorted(v.items())) for k, v in sorted(by_license.items())},
        **flags,
        "conflicts_flagged": conflicts,
        "rejected_by_reason": license_stage["rejected"],
    }


def registry_for(manifest: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The policy and the registries it was applied with (paths resolve against the spec file)."""
    from corpus.filters.license import registry_record

    policy = manifest["pipeline"]["spec"]["license_policy"]
    base = Path(manifest["pipeline"]["spec_file"]).parent
    paths = [str(base / p) if p else None for p in (policy.get("licenses_file"), policy.get("sources_file"))]
    return policy, registry_record(*paths)


def finish_run(output: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Write every provenance file for a finished run and record them in ``manifest`` (mutated)."""
    from corpus.provenance.attribution import write_attribution
    from corpus.provenance.croissant import write_croissant
    from corpus.provenance.datasheet import write_datasheet

    from corpus.provenance.dataset_card import write_dataset_card

    policy, registry = registry_for(manifest)
    manifest["licenses"] = license_summary(output, manifest, policy, registry)
    if manifest["pipeline"]["spec"].get("decontamination"):
        manifest["decontamination"] = decontamination_summary(output, manifest)
    manifest["provenance"] = {
        "documents": write_records(output, manifest),
        "attribution": write_attribution(output, manifest),
        "datasheet": {"path": "datasheet.md"},
        "croissant": {"path": "croissant.json"},
    }
    write_datasheet(output, manifest)
    write_croissant(output, manifest)
    manifest["provenance"]["dataset_card"] = write_dataset_card(output, manifest)
    return manifest


def decontamination_summary(output: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The evaluation sets checked (resolved against the spec file, as the run read them) and what
    each removed, from the rejections and shards."""
    from corpus.filters.decontaminate import decontamination_record
    from corpus.filters.eval_sets import EvalSet
    from corpus.sources.inputs import recorded_path

    settings = manifest["pipeline"]["spec"]["decontamination"]
    base = Path(manifest["pipeline"]["spec_file"]).parent
    sets = [EvalSet(s["name"], Path(os.path.normpath(base / s["path"])), s["text_field"], s["id_field"]) for s in settings["sets"]]
    return decontamination_record(
        settings, sets, rejected_rows(output, manifest["rejected_files"]), kept_rows(output, manifest["shards"]), recorded_path
    )
