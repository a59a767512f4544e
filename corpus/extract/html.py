"""Main-content extraction from HTML with trafilatura."""

from __future__ import annotations

from dataclasses import dataclass

import trafilatura


@dataclass(frozen=True)
class Extracted:
    text: str
    title: str | None


def extract_html(html: str, *, include_tables: bool = True, favor_recall: bool = True) -> Extracted | None:
    """The page's main text, or None when trafilatura finds no content.

    Tables are kept by default: law pages and financial notes put real content in tables.
    ``favor_recall`` because government pages are sparse in markup and precision mode drops
    whole articles of statutes.
    """
    doc = trafilatura.bare_extraction(
        html,
        with_metadata=True,
        include_comments=False,
        include_tables=include_tables,
        favor_recall=favor_recall,
        deduplicate=False,
    )
    if doc is None or not (doc.text or "").strip():
        return None
    return Extracted(doc.text, doc.title or None)
