"""Read PDF files: the text layer as one document (locator ``pdf:<path>``), scans rejected.

The extraction itself lives in corpus.extract.pdf, shared with the extract stage, which handles
PDFs that arrive inside WARCs from a crawl.
"""

from __future__ import annotations

from collections.abc import Iterator

from corpus.extract.pdf import EVIDENCE, extract_pdf
from corpus.sources.inputs import InputFile
from corpus.sources.rows import Item, failed_row, text_row, whole_file_reader
from corpus.stage import Rejection


@whole_file_reader("pdf")
def read_pdf_file(inp: InputFile, locator: str, data: bytes, digest: str) -> Iterator[Item]:
    """One document per PDF, the text of all pages in order."""
    result = extract_pdf(data)
    if isinstance(result, Rejection):
        yield failed_row(inp, locator, digest), result
        return
    yield text_row(inp, locator, result.text, digest, None, EVIDENCE, "application/pdf", title=result.title)
