"""DIR/croissant.json: Croissant 1.1 JSON-LD with Responsible-AI fields, built from the manifest.

One ``cr:FileObject`` per shard carries its sha256 (FileSets carry none), and a ``cr:FileSet``
globbing the shards feeds the ``docs`` RecordSet, so ``mlcroissant`` can iterate the records.
mlcroissant does not enforce Croissant's required properties; ``missing_required`` does, and
``corpus audit`` calls it.
"""

from __future__ import annotations

import json
from typing import Any

from corpus.io import storage

CROISSANT_FILE = "croissant.json"
CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
#: Croissant 1.0/1.1 required dataset properties (spec "Dataset-level information").
REQUIRED = ["@context", "@type", "conformsTo", "description", "license", "name", "url", "creator", "datePublished", "distribution"]

CONTEXT = {
    "@language": "en", "@vocab": "https://schema.org/", "sc": "https://schema.org/",
    "cr": "http://mlcommons.org/croissant/", "rai": "http://mlcommons.org/croissant/RAI/",
    "dct": "http://purl.org/dc/terms/", "prov": "http://www.w3.org/ns/prov#",
    "citeAs": "cr:citeAs", "column": "cr:column", "conformsTo": "dct:conformsTo",
    "data": {"@id": "cr:data", "@type": "@json"}, "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "examples": {"@id": "cr:examples", "@type": "@json"}, "extract": "cr:extract", "field": "cr:field",
    "fileObject": "cr:fileObject", "fileSet": "cr:fileSet", "format": "cr:format", "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset", "key": "cr:key", "md5": "cr:md5", "recordSet": "cr:recordSet",
    "references": "cr:references", "source": "cr:source", "subField": "cr:subField",
    "transform": "cr:transform", "containedIn": "cr:containedIn", "sdVersion": "cr:sdVersion",
    "equivalentProperty": "cr:equivalentProperty", "fileProperty": "cr:fileProperty", "jsonPath": "cr:jsonPath",
    "parentField": "cr:parentField", "path": "cr:path", "regex": "cr:regex", "repeated": "cr:repeated",
    "replace": "cr:replace", "samplingRate": "cr:samplingRate", "separator": "cr:separator",
}

#: (field name, Croissant data type) described in the ``docs`` RecordSet.
FIELDS = [
    ("doc_id", "sc:Text"), ("text", "sc:Text"), ("n_tokens", "sc:Integer"), ("source", "sc:Text"),
    ("license", "sc:Text"), ("url", "sc:Text"), ("locator", "sc:Text"), ("raw_sha256", "sc:Text"),
    ("train_ok", "sc:Boolean"), ("redistribute_ok", "sc:Boolean"), ("attribution", "sc:Text"),
]


def _field(name: str, dtype: str) -> dict[str, Any]:
    return {"@type": "cr:Field", "@id": f"docs/{name}", "name": name, "dataType": dtype,
            "source": {"fileSet": {"@id": "shards"}, "extract": {"column": name}}}


def _collection_types(manifest: dict[str, Any]) -> list[str]:
    kinds = {i["kind"] for i in manifest["inputs"]}
    return sorted({"warc": "Web Scraping", "html": "Document analysis"}.get(k, "Others") for k in kinds) or ["Others"]


def build(manifest: dict[str, Any]) -> dict[str, Any]:
    spec = manifest["pipeline"]["spec"]
    meta = spec.get("datasheet", {})
    lic = manifest["licenses"]
    registry = lic["registry"]["licenses"]
    kept_licenses = sorted(lic["by_license"])
    stages = [f"{s['name']}: in {s['in']}, out {s['out']}, rejected {s['rejected']}" for s in manifest["stages"]]
    rules = [f"quality {r['name']}: {r['signal']} {r['bound']} {r['threshold']} ({r['origin']})" for r in manifest["quality_profile"]["rules"]]
    t = manifest["totals"]
    doc = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": manifest["pipeline"]["name"],
        "description": (spec["pipeline"].get("description") or manifest["pipeline"]["name"])
        + f" Token-counted Parquet shards: {t['kept']} documents, {t['tokens']} tokens; licences {', '.join(kept_licenses)}.",
        "license": [registry.get(k, {}).get("url") or k for k in kept_licenses] or [meta.get("license", "")],
        "sdLicense": meta.get("license"),
        "url": meta.get("url"),
        "creator": {"@type": "sc:Organization", "name": meta.get("creator")},
        "datePublished": manifest["volatile"]["started_at"][:10],
        "version": meta.get("version"),
        "inLanguage": "ja",
        "citeAs": f"@misc{{{manifest['pipeline']['name']},title={{{manifest['pipeline']['name']}}},note={{jp-corpus {manifest['code']['version']} git {manifest['code']['git_commit']}}}}}",
        "keywords": ["Japanese", "finance", "government", "law", "continued pretraining"],
        "rai:dataCollection": "Inputs listed in manifest.json (path, sha256); sources and their terms in filters/sources.toml: "
        + "; ".join(sorted({f"{i['source']} ({i['kind']}, declared {i['license']})" for i in manifest["inputs"]})),
        "rai:dataCollectionType": _collection_types(manifest),
        "rai:dataCollectionRawData": "Raw HTML files and WARC records; each document's locator, raw_sha256 and fetch time are in provenance/documents.parquet.",
        "rai:dataPreprocessingProtocol": stages + rules,
        "rai:dataManipulationProtocol": [
            "charset detection with evidence (CP932 for Shift_JIS labels)", "trafilatura main-text extraction",
            f"Unicode normalisation {spec['normalize']['form']}", f"exact dedup on normalised text (enabled={spec['dedup']['exact']['enabled']})",
        ],
        "rai:dataAnnotationProtocol": "Licence per document: spec input licence > source registry > page signals; page restrictions always win (docs/provenance.md). Evidence stored per document.",
        "rai:machineAnnotationTools": ["corpus.filters.license_detect (regex rules on raw HTML)", f"quality profile {manifest['quality_profile']['name']}",
                                        f"sentencepiece {manifest['tokenizer']['model']} sha256 {manifest['tokenizer']['sha256']}"],
        "rai:dataLimitations": f"train_ok {lic['train_ok']['docs']} docs, redistribute_ok {lic['redistribute_ok']['docs']} docs of {t['kept']}: documents with redistribute_ok=false must not be republished.",
        "rai:dataReleaseMaintenancePlan": f"Versioned by spec sha256 and git commit; takedown contact: {meta.get('contact') or 'see url'}.",
        "prov:wasGeneratedBy": {"@type": "prov:Activity", "prov:label": f"corpus run {manifest['pipeline']['name']} (git {manifest['code']['git_commit']}, spec sha256 {manifest['pipeline']['spec_sha256']})"},
        "prov:wasDerivedFrom": [{"@id": i["path"], "sha256": i["sha256"]} for i in manifest["inputs"][:1000]],
        "distribution": [
            {"@type": "cr:FileObject", "@id": s["path"], "name": s["path"], "contentUrl": s["path"],
             "encodingFormat": "application/x-parquet", "sha256": s["sha256"], "contentSize": f"{s['bytes']} B"}
            for s in manifest["shards"]
        ] + [{"@type": "cr:FileSet", "@id": "shards", "name": "shards", "encodingFormat": "application/x-parquet", "includes": "shards/*.parquet"}],
        "recordSet": [{"@type": "cr:RecordSet", "@id": "docs", "name": "docs", "key": {"@id": "docs/doc_id"},
                       "field": [_field(n, d) for n, d in FIELDS]}],
    }
    return doc


def missing_required(doc: dict[str, Any]) -> list[str]:
    """Required Croissant properties that are absent or empty (mlcroissant only warns)."""
    return [k for k in REQUIRED if doc.get(k) in (None, "", [], {})]


def write_croissant(output: str, manifest: dict[str, Any]) -> str:
    location = storage.join(output, CROISSANT_FILE)
    storage.write_text(location, json.dumps(build(manifest), ensure_ascii=False, indent=2) + "\n")
    return location
