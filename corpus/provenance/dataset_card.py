"""DIR/README.md: a Hugging Face dataset card, so the output directory can be shared or pushed as it is.

The YAML header is what the Hub (and ``datasets.load_dataset(DIR)``) reads: ``configs`` with one
``data_files`` entry per split pointing at ``shards/``, so the rejected and provenance Parquet
files beside them are never mistaken for data; licence ids, ``language: ja``, the size category
and the task. The body is generated from the run's records only (manifest, shards), like
datasheet.md, so it cannot drift from the data: sources, licences, token counts, the filters and
what they removed, decontamination, and how to load the shards.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from corpus.provenance.hashing import file_sha256

CARD_FILE = "README.md"

#: SPDX ids the Hub knows under its own (lower-case) names; everything else is ``other``.
HUB_LICENSES = {
    "CC-BY-4.0": "cc-by-4.0", "CC-BY-SA-4.0": "cc-by-sa-4.0", "CC0-1.0": "cc0-1.0", "CC-BY-NC-4.0": "cc-by-nc-4.0",
    "CC-BY-ND-4.0": "cc-by-nd-4.0", "Apache-2.0": "apache-2.0", "MIT": "mit", "ODC-By-1.0": "odc-by", "PDDL-1.0": "pddl",
}

_SIZES = [(10**3, "n<1K"), (10**4, "1K<n<10K"), (10**5, "10K<n<100K"), (10**6, "100K<n<1M"), (10**7, "1M<n<10M"),
          (10**8, "10M<n<100M"), (10**9, "100M<n<1B"), (10**10, "1B<n<10B"), (10**11, "10B<n<100B"), (10**12, "100B<n<1T")]


def size_category(rows: int) -> str:
    """The Hub's ``size_categories`` bucket for a number of rows."""
    return next((label for limit, label in _SIZES if rows < limit), "n>1T")


def hub_licenses(spdx_ids: list[str]) -> list[str]:
    return sorted({HUB_LICENSES.get(i, "other") for i in spdx_ids}) or ["other"]


def header(manifest: dict[str, Any]) -> dict[str, Any]:
    splits = manifest["shard_layout"].get("splits", {})
    files = [{"split": s, "path": f"shards/{s}-*.parquet"} for s in splits]
    head: dict[str, Any] = {}
    if files:
        head["configs"] = [{"config_name": "default", "data_files": files}]
    kept_licenses = list(manifest["licenses"]["by_license"])
    head["license"] = hub_licenses(kept_licenses)
    others = sorted(i.lower() for i in kept_licenses if i not in HUB_LICENSES)
    if others:  # the Hub's fields for licences outside its list: an id, and the file with their terms
        head["license_name"] = "-and-".join(others)
        head["license_link"] = "ATTRIBUTION.md"
    head.update({
        "language": ["ja"],
        "size_categories": [size_category(sum(s["rows"] for s in splits.values()))],
        "task_categories": ["text-generation"],
        "task_ids": ["language-modeling"],
        "pretty_name": manifest["pipeline"]["name"],
        "tags": ["japanese", "continued-pretraining", "provenance"],
    })
    return head


def per_source(output: Path, shards: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Rows, documents, tokens and licences per source, read from the shards (no text)."""
    out: dict[str, dict[str, Any]] = defaultdict(lambda: {"rows": 0, "docs": set(), "tokens": 0, "licenses": set()})
    for entry in shards:
        t = pq.read_table(output / entry["path"], columns=["doc_id", "source", "license", "n_tokens"])
        for doc_id, source, lic, n in zip(*(t.column(c).to_pylist() for c in t.column_names)):
            s = out[source or "unknown"]
            s["rows"] += 1
            s["docs"].add(doc_id)
            s["tokens"] += n or 0
            s["licenses"].add(lic or "NOASSERTION")
    return {k: {**v, "docs": len(v["docs"]), "licenses": sorted(v["licenses"])} for k, v in sorted(out.items())}


def _table(head: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return out + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows] + [""]


def _decontamination(manifest: dict[str, Any]) -> list[str]:
    d = manifest.get("decontamination")
    if not d:
        return ["Not checked against any evaluation set (no `[decontamination]` in the spec).", ""]
    return [
        f"Character {d['ngram']}-gram overlap on the NFKC, lower-cased letters and digits of the text: a document containing "
        f"at least {d['min_overlap']} of an item's n-grams (and at least {d['min_ngrams']}) was "
        f"{'rejected' if d['action'] == 'reject' else 'kept with the matching span cut out'}. "
        f"{d['documents_rejected']} document(s) rejected, {d['documents_cut']} cut.",
        "",
        *_table(["evaluation set", "items", "items long enough to be found", "sha256", "documents rejected", "documents cut"],
                [[s["name"], s["items"], s["items_detectable"], f"`{s['sha256']}`", s["documents_rejected"], s["documents_cut"]] for s in d["sets"]]),
        "Each rejection (`rejected/*.parquet`, stage `decontaminate`) names the set, the item id and the matched text: "
        "`corpus inspect DIR DOC_ID` shows it.",
        "",
    ]


def render(output: Path, manifest: dict[str, Any]) -> str:
    t = manifest["totals"]
    tok = manifest["tokenizer"]
    lic = manifest["licenses"]
    splits = manifest["shard_layout"].get("splits", {})
    sources = per_source(output, manifest["shards"])
    description = manifest["pipeline"]["spec"]["pipeline"].get("description") or ""
    body = [
        f"# {manifest['pipeline']['name']}",
        "",
        *([description, ""] if description else []),
        f"Japanese text for continued pretraining: {t['kept']} documents, {t['tokens']} tokens of the target model's "
        f"tokenizer (`{tok['model']}`, {tok['kind']}, vocabulary {tok['vocab_size']}, "
        f"sha256 `{tok['sha256']}`), in {len(manifest['shards'])} Parquet shard(s). Generated by jp-corpus "
        f"{manifest['code']['version']} (commit `{manifest['code']['git_commit']}`) from the run's own records; "
        "`corpus audit DIR` re-verifies every figure below.",
        "",
        "## Splits",
        "",
        *_table(["split", "shards", "rows", "tokens"], [[s, v["shards"], v["rows"], v["tokens"]] for s, v in splits.items()]),
        "## Sources",
        "",
        *_table(["source", "documents", "rows", "tokens", "licences"],
                [[s, v["docs"], v["rows"], v["tokens"], ", ".join(v["licenses"])] for s, v in sources.items()]),
        "## Licences",
        "",
        *_table(["licence", "documents", "tokens", "may train", "may redistribute", "commercial use"],
                [[k, v["docs"], v["tokens"], v.get("train_ok", 0), v.get("redistribute_ok", 0), v.get("commercial_ok", 0)]
                 for k, v in lic["by_license"].items()]),
        f"Documents that may not be redistributed: {t['kept'] - lic['redistribute_ok']['docs']} (column `redistribute_ok`); "
        "remove them before publishing. Credits each licence requires are in `ATTRIBUTION.md`; each document's licence "
        "evidence is in its `license_evidence` column.",
        "",
        "## Filters",
        "",
        *_table(["stage", "in", "out", "removed (reason: documents)"],
                [[s["name"], s["in"], s["out"], ", ".join(f"{k}: {v}" for k, v in s["rejected"].items()) or "-"] for s in manifest["stages"]]),
        f"Quality profile `{manifest['quality_profile']['name']}`; every removed document is in `rejected/` with its stage and reason.",
        "",
        "## Decontamination",
        "",
        *_decontamination(manifest),
        "## How to load",
        "",
        "```python",
        "from datasets import load_dataset",
        'ds = load_dataset("path/to/this/directory")  # or the Hub repository id',
        'ds["train"][0]["text"], ds["train"][0]["n_tokens"]',
        "```",
        "",
        "```python",
        "import glob, pyarrow.parquet as pq",
        'train = pq.ParquetDataset(sorted(glob.glob("shards/train-*.parquet"))).read(columns=["doc_id", "text", "n_tokens"])',
        "```",
        "",
        "For Megatron-LM / NeMo: `corpus export megatron DIR --output MEGATRON_DIR` writes `train_text_document.{bin,idx}` "
        "(and validation) with a doc_id sidecar.",
        "",
        "## Provenance",
        "",
        "`manifest.json` (spec, code, inputs with sha256, per-stage counts, shard sha256), `datasheet.md` (OSAID 1.0 Data "
        "Information), `croissant.json` (Croissant 1.1 + RAI), `provenance/documents.parquet` (one lineage row per "
        "document, kept or dropped).",
        "",
    ]
    return "---\n" + yaml.safe_dump(header(manifest), allow_unicode=True, sort_keys=False) + "---\n\n" + "\n".join(body)


def write_dataset_card(output: Path, manifest: dict[str, Any]) -> dict[str, str]:
    """Write README.md and return its manifest entry (path and sha256, checked by audit)."""
    path = output / CARD_FILE
    path.write_text(render(output, manifest), encoding="utf-8")
    return {"path": CARD_FILE, "sha256": file_sha256(path)}
