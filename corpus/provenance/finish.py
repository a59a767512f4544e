"""The files that describe a finished run, written from its manifest and summary; the manifest last.

ATTRIBUTION.md, datasheet.md (OSAID "Data Information"), croissant.json, the Hugging Face dataset
card README.md and report.html are
rendered from the manifest and the run summary (aggregates the workers computed from the shards
and rejections), so none of them needs the corpus in memory. ``manifest.json`` is written last: its
presence is what marks an output directory as complete.
"""

from __future__ import annotations

from typing import Any

from corpus.io import storage
from corpus.io.hashing import file_sha256
from corpus.provenance.attribution import ATTRIBUTION_FILE, render as render_attribution
from corpus.provenance.croissant import CROISSANT_FILE, write_croissant
from corpus.provenance.dataset_card import CARD_FILE, write_dataset_card
from corpus.provenance.datasheet import DATASHEET_FILE, write_datasheet
from corpus.provenance.manifest import MANIFEST_FILE, write_manifest
from corpus.provenance.report import REPORT_NAME, write_report

#: Top-level files every run writes (the ledger is told before they are written).
RUN_FILES = (ATTRIBUTION_FILE, DATASHEET_FILE, CROISSANT_FILE, CARD_FILE, REPORT_NAME, MANIFEST_FILE)


def finish_run(output: str, manifest: dict[str, Any], summary: dict[str, Any], documents: dict[str, Any]) -> dict[str, Any]:
    """Write the descriptive files and the manifest; ``documents``: the provenance bucket files."""
    attribution = storage.join(output, ATTRIBUTION_FILE)
    storage.write_text(attribution, render_attribution(summary["attribution"], manifest["licenses"]["registry"]["licenses"]))
    manifest["provenance"] = {
        "documents": documents,
        "attribution": {"path": ATTRIBUTION_FILE, "sha256": file_sha256(attribution)},
        "datasheet": {"path": DATASHEET_FILE},
        "croissant": {"path": CROISSANT_FILE},
    }
    write_datasheet(output, manifest)
    write_croissant(output, manifest)
    manifest["provenance"]["dataset_card"] = write_dataset_card(output, manifest, summary["per_source"])
    write_report(output, manifest, summary["report"])
    write_manifest(output, manifest)
    return manifest
