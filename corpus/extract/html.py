"""Main-content extraction from HTML with trafilatura."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import trafilatura
from trafilatura.utils import load_html

try:  # the steps trafilatura's own metadata pass takes for the title (trafilatura 2.x)
    from trafilatura.metadata import examine_meta, extract_meta_json, extract_title
except ImportError:  # pragma: no cover - a trafilatura that moved them: fall back to its public pass
    examine_meta = None


@dataclass(frozen=True)
class Extracted:
    text: str
    title: str | None


def page_title(tree: Any) -> str | None:
    """The title trafilatura's metadata pass would give (meta tags, then JSON-LD, then <title>/<h1>).

    Without the rest of that pass: its date search (htmldate) alone costs as much as extracting
    the text, and the pipeline keeps only the title.
    """
    if examine_meta is None:
        return trafilatura.extract_metadata(tree, extensive=False).title or None
    meta = examine_meta(tree)
    try:
        meta = extract_meta_json(tree, meta)
    except Exception:  # trafilatura guards its own JSON-LD parsing the same way
        pass
    return meta.title or extract_title(tree) or None


def extract_html(html: str, include_tables: bool = True, favor_recall: bool = True) -> Extracted | None:
    """The page's main text and title, or None when trafilatura finds no content.

    Tables are kept by default: law pages and financial notes put real content in tables.
    ``favor_recall`` because government pages are sparse in markup and precision mode drops
    whole articles of statutes. The page is parsed once, for the title and the text.
    """
    tree = load_html(html)
    if tree is None:
        return None
    title = page_title(tree)
    doc = trafilatura.bare_extraction(
        tree,
        with_metadata=False,
        include_comments=False,
        include_tables=include_tables,
        favor_recall=favor_recall,
        deduplicate=False,
    )
    if doc is None or not (doc.text or "").strip():
        return None
    return Extracted(doc.text, title)
