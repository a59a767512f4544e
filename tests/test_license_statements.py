"""Licence detection measured on real statements from Japanese government and finance pages.

tests/data/license_statements.toml holds excerpts (each with its page's URL) labelled with the
licence they grant and whether they restrict reuse. Each is run through the detector as the
footer of a page; the grant the licence stage would take from the page (``page_grant``) and the
restriction signals are compared with the labels. Targets (issue 12): recall of grants >= 95%,
no false grant, no missed restriction. Statements marked ``set = "holdout"`` were labelled after
the rules were written; the figures for both parts are in docs/provenance.md.
"""

from __future__ import annotations

import html
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from corpus.filters.license import UNKNOWN, load_licenses, page_grant
from corpus.filters.license_detect import detect, recheck

STATEMENTS = Path(__file__).parent / "data" / "license_statements.toml"
FIELDS = {"id", "url", "seen", "read", "kind", "grant", "restrict"}
KINDS = {"terms", "footer", "open-data", "cc-badge", "cc-compat", "credit", "usage-note", "article", "restriction"}


def statements() -> list[dict]:
    return tomllib.loads(STATEMENTS.read_text(encoding="utf-8"))["statement"]


def as_page(st: dict) -> str:
    """The statement as the footer of an otherwise empty page (markup kept when it is markup)."""
    inner = st["html"] if "html" in st else html.escape(st["text"])
    return f"<html><head><title>t</title></head><body><main>本文</main><footer>{inner}</footer></body></html>"


@dataclass
class Outcome:
    id: str
    expected: str
    granted: str
    expect_restrict: bool
    restricted: bool


def outcomes() -> list[Outcome]:
    out = []
    for st in statements():
        signals = detect(as_page(st))
        granted = page_grant(signals)
        out.append(Outcome(st["id"], st["grant"], "" if granted == UNKNOWN else granted, st["restrict"],
                           any(s.kind == "restrict" for s in signals)))
    return out


def figures(results: list[Outcome]) -> dict[str, float | int]:
    grants = [r for r in results if r.expected]
    given = [r for r in results if r.granted]
    correct = [r for r in grants if r.granted == r.expected]
    return {
        "statements": len(results),
        "grants": len(grants),
        "grants_found": len(correct),
        "recall": len(correct) / len(grants),
        "granted": len(given),
        "precision": sum(r.granted == r.expected for r in given) / len(given),
        "false_grants": sum(r.granted != r.expected for r in given),
        "restrictions": sum(r.expect_restrict for r in results),
        "missed_restrictions": sum(r.expect_restrict and not r.restricted for r in results),
        "false_restrictions": sum(r.restricted and not r.expect_restrict for r in results),
    }


def test_every_statement_is_cited_and_labelled_with_a_registered_licence():
    sts = statements()
    licenses = load_licenses()
    assert len(sts) >= 60
    assert len({s["id"] for s in sts}) == len(sts)
    for st in sts:
        assert FIELDS <= st.keys(), st.get("id")
        assert ("text" in st) != ("html" in st), st["id"]
        assert st["url"].startswith("http") and st["kind"] in KINDS, st["id"]
        assert st["grant"] == "" or st["grant"] in licenses, st["id"]
        assert isinstance(st["restrict"], bool)
    kinds = Counter(s["kind"] for s in sts)
    # the set covers what the issue asks for: declarations, CC statements, restrictions, articles
    assert kinds["terms"] >= 10 and kinds["restriction"] >= 10 and kinds["article"] >= 5 and kinds["cc-compat"] >= 2
    assert sum(bool(s["grant"]) for s in sts) >= 20 and sum(not s["grant"] for s in sts) >= 20


def test_recall_precision_and_restrictions_meet_the_targets():
    results = outcomes()
    f = figures(results)
    held_out = {s["id"] for s in statements() if s.get("set") == "holdout"}
    print("\nlicence statements, all:", f)
    print("development:", figures([r for r in results if r.id not in held_out]))
    print("held out:", figures([r for r in results if r.id in held_out]))
    misses = [(r.id, r.expected, r.granted) for r in results if r.expected and r.granted != r.expected]
    wrong = [(r.id, r.expected, r.granted) for r in results if r.granted and r.granted != r.expected]
    assert f["recall"] >= 0.95, misses
    assert f["false_grants"] == 0, wrong
    assert f["missed_restrictions"] == 0, [r.id for r in results if r.expect_restrict and not r.restricted]
    assert f["false_restrictions"] == 0, [r.id for r in results if r.restricted and not r.expect_restrict]


@pytest.mark.parametrize("st", [s for s in statements() if s["grant"]], ids=lambda s: s["id"])
def test_the_decisive_text_evidence_of_each_grant_rechecks_from_its_snippet(st):
    """What ``corpus audit`` re-verifies: the stored snippet alone gives the same rule and licence,
    and a changed licence id or a snippet with the declaration removed does not."""
    signals = [s for s in detect(as_page(st)) if s.kind == "grant" and s.license == st["grant"]]
    assert signals
    for s in signals:
        ev = s.to_dict()
        assert recheck(ev), ev
        assert not recheck({**ev, "license": "CC0-1.0"})
        assert not recheck({**ev, "snippet": "このページについて"})
