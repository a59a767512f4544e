"""How much narrative a quality profile keeps and how much table text it drops, on real filings.

Run from the repository root (the figures in docs/quality.md, "Filings", come from this):

    PYTHONPATH=$PWD python scripts/measure_filings.py [--profile finance-filings] [--json]

Inputs, read by the project's own readers: the FSA's XBRL tagging sample 有価証券報告書 (../shared/data
finance/edinet_xbrl_sample_X99001, packed as EDINET's API packs a filing: XBRL/PublicDoc/<file>)
and the 230 chABSA filings (finance/chabsa). Each document goes through the normalize and quality
stages as in a run. "Narrative" is the text of the section documents (everything outside tables),
"table" the text of the table documents; shares are of characters after normalisation. For each
kind: documents and characters in, kept, and the characters each rule dropped (the first rule a
document fails, as the quality stage records it).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import zipfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from corpus.document import DOC_SCHEMA, docs_from_rows
from corpus.filters.quality import QualityStage
from corpus.filters.rules import load_profile
from corpus.sources.read import expand_input, read_inputs
from corpus.text.normalize_stage import NormalizeStage

SHARED = Path(os.environ.get("CORPUS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
FSA_SAMPLE = "finance/edinet_xbrl_sample_X99001"


def fsa_package(shared: Path = SHARED) -> bytes:
    """The FSA sample's files as EDINET's API packs a filing (XBRL/PublicDoc/<file>), fixed timestamps."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted((shared / FSA_SAMPLE).iterdir()):
            zf.writestr(zipfile.ZipInfo(f"XBRL/PublicDoc/{path.name}", (2025, 6, 28, 9, 0, 0)), path.read_bytes())
    return buf.getvalue()


def kind_of(locator: str) -> str:
    if locator.startswith("chabsa:"):
        return "chabsa narrative"
    return "FSA sample table" if "/table" in locator else "FSA sample narrative"


def measure(profile: str = "finance-filings", shared: Path = SHARED) -> dict[str, Any]:
    """Per kind: docs, chars, kept docs and chars, and dropped chars by rule."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "S100FSA0.zip").write_bytes(fsa_package(shared))
        ranges = expand_input(tmp, "edinet-filings", "LicenseRef-JP-ThirdParty").ranges
        ranges += expand_input(str(shared / "finance/chabsa"), "chabsa", "CC-BY-4.0").ranges
        table, rejected, _ = read_inputs(ranges)
    assert rejected.num_rows == 0, rejected.to_pylist()[:3]
    normalized = NormalizeStage().process(docs_from_rows(table.to_pylist(), DOC_SCHEMA))
    judged = QualityStage(load_profile(profile)).process(normalized.kept)
    chars = {r["doc_id"]: (kind_of(r["locator"]), len(r["text"])) for r in normalized.kept.select(["doc_id", "locator", "text"]).to_pylist()}
    out: dict[str, Any] = defaultdict(lambda: {"docs": 0, "chars": 0, "kept_docs": 0, "kept_chars": 0, "dropped_chars_by_rule": Counter()})
    for kind, n in chars.values():
        out[kind]["docs"] += 1
        out[kind]["chars"] += n
    for doc_id in judged.kept.column("doc_id").to_pylist():
        kind, n = chars[doc_id]
        out[kind]["kept_docs"] += 1
        out[kind]["kept_chars"] += n
    for r in judged.rejected.select(["doc_id", "reason"]).to_pylist():
        kind, n = chars[r["doc_id"]]
        out[kind]["dropped_chars_by_rule"][r["reason"]] += n
    return {k: {**v, "dropped_chars_by_rule": dict(v["dropped_chars_by_rule"].most_common())} for k, v in sorted(out.items())}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="finance-filings")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    result = measure(args.profile)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print(f"profile {args.profile}")
    for kind, r in result.items():
        kept = r["kept_chars"] / max(1, r["chars"])
        print(f"{kind:22s} docs {r['docs']:4d} kept {r['kept_docs']:4d}  chars {r['chars']:7d} kept {r['kept_chars']:7d} "
              f"({kept:.1%}), dropped {1 - kept:.1%}")
        for rule, n in r["dropped_chars_by_rule"].items():
            print(f"{'':24s}{rule:34s} {n:7d} chars ({n / max(1, r['chars']):.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
