"""Text of a PDF's text layer (pypdf), or a rejection saying why there is none.

Government sites publish many PDFs. Those made from a word processor carry their text; scans carry
only page images, and "extracting" them gives an empty string, which would silently vanish later
as a too-short document. Here such a file is rejected up front as ``pdf_no_text_layer`` with the
page and image counts, so the rejection says what to do (OCR it) instead of looking like noise.
Used by the PDF file reader and by the extract stage for PDFs inside WARCs; pages are joined with
a blank line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from corpus.stage import Rejection

#: Fewer visible characters per page than this and the PDF is judged to have no text layer.
MIN_CHARS_PER_PAGE = 5
PDF_TYPES = ("application/pdf", "application/x-pdf")
EVIDENCE = "pdf:text-layer"


@dataclass(frozen=True)
class PdfText:
    text: str
    title: str | None
    pages: int


def is_pdf(media_type: str, data: bytes) -> bool:
    """PDF by declared type, or by magic number when a server sends application/octet-stream."""
    return media_type in PDF_TYPES or (media_type == "application/octet-stream" and data[:5] == b"%PDF-")


def _count_images(page: Any) -> int:
    try:
        return len(page.images)
    except Exception:  # broken image streams do not change the verdict "no text"
        return 0


def extract_pdf(data: bytes) -> PdfText | Rejection:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            return Rejection("pdf_encrypted", detail="password required")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        return Rejection("pdf_unreadable", detail=f"{type(exc).__name__}: {exc}"[:500])
    visible = sum(len(re.sub(r"\s", "", p)) for p in pages)
    needed = MIN_CHARS_PER_PAGE * max(1, len(pages))
    if visible < needed:
        images = sum(_count_images(p) for p in reader.pages)
        return Rejection(
            "pdf_no_text_layer", value=float(visible), threshold=float(needed),
            detail=f"{len(pages)} page(s), {images} image(s), {visible} text characters: scanned or image-only, needs OCR",
        )
    title = None
    try:
        title = (reader.metadata or {}).get("/Title")
    except Exception:  # a malformed info dictionary only costs the title
        pass
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    return PdfText(text, str(title) if title else None, len(pages))
