"""Run the right reader over each input file and collect rows and reader rejections."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from corpus.document import DOC_SCHEMA, docs_from_rows, rejects_from_rows
from corpus.sources.html_files import read_html_file, read_text_file
from corpus.sources.inputs import InputFile
from corpus.sources.kokkai import read_kokkai_xml_file
from corpus.sources.law_xml import read_law_xml_file
from corpus.sources.pdf import read_pdf_file
from corpus.sources.tabular import read_jsonl_file, read_parquet_file
from corpus.sources.warc import read_warc_file
from corpus.stage import StageCounts, reject_row

READERS = {
    "html": read_html_file,
    "warc": read_warc_file,
    "text": read_text_file,
    "jsonl": read_jsonl_file,
    "parquet": read_parquet_file,
    "law_xml": read_law_xml_file,
    "kokkai_xml": read_kokkai_xml_file,
    "pdf": read_pdf_file,
}
STAGE = "read"


def read_inputs(files: Sequence[InputFile]) -> tuple[pa.Table, pa.Table, StageCounts]:
    """Raw document rows, reader rejections, and the 'read' stage counts for these files."""
    rows: list[dict] = []
    rejected: list[dict] = []
    for f in files:
        for item in READERS[f.kind](f):
            if isinstance(item, tuple):
                rejected.append(reject_row(item[0], STAGE, item[1]))
            else:
                rows.append(item)
    counts = StageCounts(len(rows) + len(rejected), len(rows))
    counts.rejected.update(r["reason"] for r in rejected)
    return docs_from_rows(rows, DOC_SCHEMA), rejects_from_rows(rejected), counts
