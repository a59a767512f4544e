"""Read PDFs that have a text layer (pypdf); reject scanned, image-only PDFs with a reason.

Government sites publish many PDFs. Those made from a word processor carry their text; scans carry
only page images, and "extracting" them gives an empty string, which would silently vanish later
as a too-short document. Here such a file is rejected up front as ``pdf_no_text_layer`` with the
page and image counts, so the rejection says what to do (OCR it) instead of looking like noise.
Pages are joined with a blank line. Locator: ``pdf:<path>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import BytesIO
from typing import Any

from corpus.sources.inputs import InputFile
from corpus.sources.rows import Item, failed_row, text_row, whole_file_reader
from corpus.stage import Rejection

#: Fewer visible characters per page than this and the PDF is judged to have no text layer.
MIN_CHARS_PER_PAGE = 5


def _count_images(page: Any) -> int:
    try:
        return len(page.images)
    except Exception:  # broken image streams do not change the verdict "no text"
        return 0


@whole_file_reader("pdf")
def read_pdf_file(inp: InputFile, locator: str, data: bytes, digest: str) -> Iterator[Item]:
    """One document per PDF, the text of all pages in order."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            yield failed_row(inp, locator, digest), Rejection("pdf_encrypted", detail="password required")
            return
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        yield failed_row(inp, locator, digest), Rejection("pdf_unreadable", detail=f"{type(exc).__name__}: {exc}"[:500])
        return
    visible = sum(len(re.sub(r"\s", "", p)) for p in pages)
    if visible < MIN_CHARS_PER_PAGE * max(1, len(pages)):
        images = sum(_count_images(p) for p in reader.pages)
        yield failed_row(inp, locator, digest), Rejection(
            "pdf_no_text_layer",
            value=float(visible),
            threshold=float(MIN_CHARS_PER_PAGE * max(1, len(pages))),
            detail=f"{len(pages)} page(s), {images} image(s), {visible} text characters: scanned or image-only, needs OCR",
        )
        return
    title = None
    try:
        title = (reader.metadata or {}).get("/Title")
    except Exception:
        pass
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    yield text_row(inp, locator, text, digest, None, "pdf:text-layer", "application/pdf", title=str(title) if title else None)
