"""The extract stage: raw bytes -> decoded, main-content text (raw bytes are dropped here)."""

from __future__ import annotations

from typing import Any, ClassVar

from corpus.extract.charset import DecodeError, decode_bytes
from corpus.extract.html import extract_html
from corpus.extract.pdf import EVIDENCE as PDF_EVIDENCE
from corpus.extract.pdf import extract_pdf, is_pdf
from corpus.extract.sandbox import SandboxCrash, SandboxError, SandboxTimeout, shared_sandbox
from corpus.io.bounded import ReadLimits
from corpus.stage import Rejection, RowStage

HTML_TYPES = ("text/html", "application/xhtml+xml")
TEXT_TYPES = ("text/plain",)


def media_type(content_type: str | None) -> str:
    return (content_type or "text/html").split(";")[0].strip().lower()


class ExtractStage(RowStage):
    """Decode with charset evidence, then extract main text; every failure is a named rejection.

    trafilatura and pypdf run in the worker's sandbox process (corpus/extract/sandbox.py), so
    ``timeout_seconds`` holds whatever thread calls the stage: a page over it is an
    ``extraction_timeout`` rejection and the next page gets a fresh extraction process.
    """

    name: ClassVar[str] = "extract"
    dropped_columns = ("raw",)

    def __init__(self, timeout_seconds: float = 60.0, include_tables: bool = True, favor_recall: bool = True,
                 max_document_bytes: int = ReadLimits().max_document_bytes):
        self.timeout_seconds = timeout_seconds
        self.include_tables = include_tables
        self.favor_recall = favor_recall
        self.max_document_bytes = max_document_bytes  # [limits]: a crawled PDF's decoded streams and text

    def process_row(self, row: dict[str, Any]) -> dict[str, Any] | Rejection:
        if row.get("text") is not None:
            # Readers of JSONL, Parquet, law XML and PDF decode as they read and record their own
            # charset evidence; there is nothing left to extract.
            return row if row["text"].strip() else Rejection("empty_input")
        raw: bytes = row["raw"] or b""
        mtype = media_type(row.get("content_type"))
        if is_pdf(mtype, raw):  # crawled PDFs arrive here as WARC payloads
            return self._pdf(row, raw)
        if mtype not in HTML_TYPES + TEXT_TYPES:
            return Rejection("unsupported_content_type", detail=mtype)
        if not raw.strip():
            return Rejection("empty_input")
        try:
            decoded = decode_bytes(raw, row.get("http_charset"))
        except DecodeError as exc:
            reason = "binary_content" if str(exc).startswith("binary") else "undecodable"
            return Rejection(reason, detail=str(exc))
        row = {**row, "charset": decoded.charset, "charset_evidence": decoded.evidence}
        if mtype in TEXT_TYPES:
            return {**row, "text": decoded.text}
        extracted = self._isolated(extract_html, (decoded.text, self.include_tables, self.favor_recall))
        if isinstance(extracted, Rejection):
            return extracted
        if extracted is None:
            return Rejection("no_main_text")
        return {**row, "text": extracted.text, "title": extracted.title}

    def _isolated(self, fn: Any, args: tuple) -> Any:
        """``fn(*args)`` in the sandbox; a timeout, a crash or an exception is this document's rejection."""
        try:
            return shared_sandbox().call(fn, args, self.timeout_seconds)
        except SandboxTimeout as exc:
            return Rejection("extraction_timeout", value=self.timeout_seconds, threshold=self.timeout_seconds, detail=str(exc))
        except SandboxCrash as exc:
            return Rejection("extraction_crash", detail=str(exc)[:500])
        except SandboxError as exc:  # a parser error on one page must not take the partition down
            return Rejection("extraction_error", detail=str(exc)[:500])

    def _pdf(self, row: dict[str, Any], raw: bytes) -> dict[str, Any] | Rejection:
        result = self._isolated(extract_pdf, (raw, self.max_document_bytes))
        if isinstance(result, Rejection):
            return result
        return {**row, "text": result.text, "title": result.title, "charset_evidence": PDF_EVIDENCE}
