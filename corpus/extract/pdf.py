"""Text of a PDF's text layer (pypdf), or a rejection saying why there is none.

Government sites publish many PDFs. Those made from a word processor carry their text; scans carry
only page images, and "extracting" them gives an empty string, which would silently vanish later
as a too-short document. Here such a file is rejected up front as ``pdf_no_text_layer`` with the
page and image counts, so the rejection says what to do (OCR it) instead of looking like noise.
Used by the PDF file reader and by the extract stage for PDFs inside WARCs; pages are joined with
a blank line.

Bounded: pypdf's own safety limits (decompressed stream size, image buffers, declared lengths) are
set to the document limit for the call, and the extracted text stops at the limit; either way the
PDF becomes a ``too_large`` rejection instead of a worker holding a decompression bomb.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from corpus.io.bounded import ReadLimits
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


def _limits(limit: int) -> dict[str, int]:
    """pypdf Configuration overrides that keep every decoded stream and image within ``limit``."""
    from pypdf import Configuration

    names = [f.name for f in dataclasses.fields(Configuration) if f.name.endswith("_maximum_output_length")]
    out = {name: limit for name in names}
    out.update(maximum_declared_stream_length=limit, image_maximum_buffer_size=limit,
               stream_decoding_work_maximum_length=min(Configuration.stream_decoding_work_maximum_length, 4 * limit))
    return out


def _too_large(seen: int, limit: int, what: str) -> Rejection:
    return Rejection("too_large", rule="max_document_bytes", value=float(seen), threshold=float(limit),
                     detail=f"{what} larger than [limits] max_document_bytes = {limit} bytes (stopped after {seen} bytes)")


def extract_pdf(data: bytes, limit: int = ReadLimits().max_document_bytes) -> PdfText | Rejection:
    """The text layer of ``data``, holding at most ``limit`` bytes of any decoded stream or of text."""
    from pypdf import PdfReader, apply_configuration
    from pypdf.errors import LimitReachedError, PdfReadError

    with apply_configuration(**_limits(limit)):
        try:
            reader = PdfReader(BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):
                return Rejection("pdf_encrypted", detail="password required")
            pages: list[str] = []
            size = 0
            for page in reader.pages:
                pages.append(page.extract_text() or "")
                size += len(pages[-1].encode("utf-8"))
                if size > limit:
                    return _too_large(size, limit, f"text of the first {len(pages)} page(s)")
        except LimitReachedError as exc:
            if any(w in str(exc).lower() for w in ("cycl", "loop", "depth")):
                return Rejection("pdf_unreadable", detail=f"{type(exc).__name__}: {exc}"[:500])
            return _too_large(limit, limit, f"a decoded PDF stream ({exc})")
        except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
            return Rejection("pdf_unreadable", detail=f"{type(exc).__name__}: {exc}"[:500])
        return _verdict(reader, pages)


def _verdict(reader: Any, pages: list[str]) -> PdfText | Rejection:
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
