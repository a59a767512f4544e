"""DIR/datasheet.md: OSAID 1.0 "Data Information", answered point by point from the manifest.

Every number comes from the run's own records (manifest.json, which audit re-verifies), so the
datasheet cannot drift from the data. Headings follow the OSAID text: provenance, scope and
characteristics, how obtained and selected, labelling, processing and filtering, public and
third-party data and where to get them, and the code that did it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from corpus.io import storage

DATASHEET_FILE = "datasheet.md"


def _table(head: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out + [""]


def render(manifest: dict[str, Any]) -> str:
    spec = manifest["pipeline"]["spec"]
    lic = manifest["licenses"]
    registry = lic["registry"]
    t = manifest["totals"]
    code = manifest["code"]
    inputs_by_source = Counter()
    bytes_by_source = Counter()
    for i in manifest["inputs"]:
        inputs_by_source[(i["source"], i["kind"], i["license"])] += 1
        bytes_by_source[(i["source"], i["kind"], i["license"])] += i["bytes"]
    L: list[str] = [
        f"# Datasheet: {manifest['pipeline']['name']}",
        "",
        "Answers the Open Source AI Definition 1.0 \"Data Information\" requirements from this run's own",
        "records (manifest.json; verify with `corpus audit DIR`). Licence of this datasheet: "
        + str(spec.get("datasheet", {}).get("license", "CC-BY-4.0")) + ".",
        "",
        "## 1. Provenance of the data",
        "",
        "Inputs (every file with its sha256 is in manifest.json `inputs`):",
        "",
        *_table(["source", "kind", "declared licence", "files", "bytes"],
                [[s, k, l, n, bytes_by_source[(s, k, l)]] for (s, k, l), n in sorted(inputs_by_source.items())]),
        "Known sources and the terms their licence rests on (filters/sources.toml, sha256 "
        f"`{registry['sources_sha256'][:16]}…`):",
        "",
        *_table(["source id", "publisher", "licence", "terms", "checked", "under review"],
                [[s["id"], s["publisher"], s["license"], s["terms_url"], s["checked"], "yes" if s["review"] else "no"] for s in registry["sources"]]),
        "## 2. Scope and characteristics",
        "",
        f"Language: Japanese. Documents kept: {t['kept']}, tokens: {t['tokens']} "
        f"(tokenizer `{manifest['tokenizer']['model']}`, {manifest['tokenizer']['kind']}, "
        f"vocabulary {manifest['tokenizer']['vocab_size']}, sha256 `{manifest['tokenizer']['sha256'][:16]}…`), "
        f"in {len(manifest['shards'])} Parquet shard(s).",
        "",
        *_table(["licence", "docs", "tokens", "train_ok", "redistribute_ok", "commercial_ok"],
                [[k, v["docs"], v["tokens"], v.get("train_ok", 0), v.get("redistribute_ok", 0), v.get("commercial_ok", 0)] for k, v in lic["by_license"].items()]),
        f"May be used for training: {lic['train_ok']['docs']} docs / {lic['train_ok']['tokens']} tokens. "
        f"May be redistributed: {lic['redistribute_ok']['docs']} docs / {lic['redistribute_ok']['tokens']} tokens. "
        f"Conflicts kept as flagged: {lic['conflicts_flagged']}.",
        "",
        "## 3. How the data was obtained",
        "",
        "Files and WARC records listed as inputs in the spec (no crawling in this run unless the inputs are crawl WARCs). "
        "Each document's locator (`file:<path>` or `warc:<path>#<offset>`), raw-bytes sha256 and fetch time are in "
        "`provenance/documents.parquet`.",
        "",
        "## 4. How the data was selected",
        "",
        "Licence policy (`[license_policy]` in the spec):",
        "",
        *[f"- `{k}`: {v}" for k, v in sorted(lic["policy"].items())],
        "",
        "Precedence: spec input licence (bulk terms) > source registry (URL prefix, host, dataset) > page grants "
        "(rel=license, Creative Commons URL, 政府標準利用規約 / PDL1.0 declaration). Page restrictions (無断転載禁止, "
        "All rights reserved, CC NC/ND) always win: a conflict is rejected or flagged per `on_conflict`. "
        f"Licence rejections by reason: {lic.get('rejected_by_reason', {})}.",
        "",
        "## 5. Labelling procedures",
        "",
        "No human labels. Machine labels per document: licence id + evidence (rule id, method, matched snippet, location) "
        "by corpus.filters.license_detect; quality signals (`q_*` columns); token counts.",
        "",
        "## 6. Processing and filtering",
        "",
        *_table(["stage", "in", "out", "rejected by reason"],
                [[s["name"], s["in"], s["out"], ", ".join(f"{k}: {v}" for k, v in s["rejected"].items()) or "-"] for s in manifest["stages"]]),
        f"Quality profile `{manifest['quality_profile']['name']}`:",
        "",
        *_table(["rule", "signal", "bound", "threshold", "origin"],
                [[r["name"], r["signal"], r["bound"], r["threshold"], r["origin"]] for r in manifest["quality_profile"]["rules"]]),
        f"Extraction: {spec['extract']}. Normalisation: {spec['normalize']['form']}. "
        f"Exact dedup: {spec['dedup']['exact']} (copy kept: earliest-listed input, then smallest locator). "
        f"Shards: {spec['shards']}.",
        "",
        *decontamination_lines(manifest.get("decontamination")),
        f"Accounting: documents in {t['documents_in']} = kept {t['kept']} + rejected {t['rejected']} "
        f"({'holds' if t['accounting_ok'] else 'DOES NOT HOLD'}); by stage {t['rejected_by_stage']}.",
        "",
        "## 7. Publicly available data and where to obtain it",
        "",
        "Shards (sha256 per file, also in croissant.json):",
        "",
        *_table(["shard", "docs", "tokens", "sha256"], [[s["path"], s["docs"], s["tokens"], s["sha256"]] for s in manifest["shards"]]),
        "Documents with `redistribute_ok = false` may be used for training only and must be removed before republishing "
        "(filter the shards on that column). Original locations: the `url` / `locator` column.",
        "",
        "## 8. Data obtainable from third parties",
        "",
        "Sources under review or train-only (rights held by third parties) are those in section 1 marked under review, "
        "and licences with redistribution = false in filters/licenses.toml: obtain them from their publishers.",
        "",
        "## 9. Code and how to re-run",
        "",
        f"jp-corpus {code['version']}, git commit `{code['git_commit']}` (dirty: {code.get('git_dirty')}), record schema {code['schema_version']}. "
        f"Spec `{manifest['pipeline']['spec_file']}` sha256 `{manifest['pipeline']['spec_sha256']}`. Libraries: "
        + ", ".join(f"{k} {v}" for k, v in sorted(manifest["libraries"].items())) + ".",
        "",
        "```",
        f"git checkout {code['git_commit']}",
        f"corpus run {manifest['pipeline']['spec_file']} --output OUT && corpus audit OUT",
        "```",
        "",
    ]
    return "\n".join(L)


def decontamination_lines(d: dict[str, Any] | None) -> list[str]:
    """Which evaluation sets the corpus was checked against (with their sha256) and what each removed."""
    if not d:
        return ["Decontamination: not checked against any evaluation set.", ""]
    return [
        f"Decontamination against evaluation sets (character {d['ngram']}-gram overlap >= {d['min_overlap']} of an item, "
        f">= {d['min_ngrams']} n-grams; action `{d['action']}`): {d['documents_rejected']} document(s) rejected, "
        f"{d['documents_cut']} cut. Each rejection names the set, item id and matched text (`corpus inspect`).",
        "",
        *_table(["evaluation set", "files", "items", "items long enough to be found", "sha256", "documents rejected", "documents cut"],
                [[s["name"], len(s["files"]), s["items"], s["items_detectable"], s["sha256"], s["documents_rejected"], s["documents_cut"]] for s in d["sets"]]),
    ]


def write_datasheet(output: str, manifest: dict[str, Any]) -> str:
    location = storage.join(output, DATASHEET_FILE)
    storage.write_text(location, render(manifest))
    return location
