"""The record schema that flows between stages, and the rejected-record schema.

Every stage reads and writes Arrow tables with these columns, so a stage can be tested on a
hand-built table and the Ray runner can pass blocks around without conversion. The schema is
versioned: a reader of old checkpoints or shards can tell which layout it is looking at.
"""

from __future__ import annotations

import hashlib

import pyarrow as pa

SCHEMA_VERSION = "2"  # 2: filing columns (FILING_FIELDS)

#: The licence decision (corpus/filters/license.py), filled by the licence stage. Evidence is a JSON
#: list of {rule, method, license, location, snippet, decisive}; train and redistribution are apart.
LICENSE_FIELDS: tuple[pa.Field, ...] = (
    pa.field("license_evidence", pa.string()),
    pa.field("legal_basis", pa.string()),
    pa.field("train_ok", pa.bool_()),
    pa.field("redistribute_ok", pa.bool_()),
    pa.field("commercial_ok", pa.bool_()),
    pa.field("license_conflict", pa.bool_()),
    pa.field("attribution", pa.string()),
)

#: What a reader knows of a securities filing (EDINET packages, chABSA), null for other documents.
#: Typed columns rather than a JSON blob: a training team filters shards by document type, filer or
#: period with a plain predicate, and ``corpus stats`` groups by them without parsing anything.
FILING_FIELDS: tuple[pa.Field, ...] = (
    pa.field("filing_id", pa.string()),  # EDINET docID (書類管理番号), e.g. S100X991
    pa.field("filer_code", pa.string()),  # EDINET code (提出者EDINETコード), e.g. E00008
    pa.field("security_code", pa.string()),  # 証券コード, e.g. 13790
    pa.field("doc_type", pa.string()),  # 提出書類 as the cover page names it, e.g. 有価証券報告書
    pa.field("period", pa.string()),  # the reporting period as an ISO 8601 interval, 2024-04-01/2025-03-31
    pa.field("section", pa.string()),  # the part of the filing: its XBRL TextBlock concept, e.g. BusinessRisksTextBlock
    pa.field("source_fields", pa.string()),  # other fields the source gives, a JSON object with sorted keys
)

#: Columns every document carries from the reader onwards. ``raw`` is dropped after extraction.
DOC_FIELDS: list[pa.Field] = [
    pa.field("doc_id", pa.string(), nullable=False),
    pa.field("source", pa.string()),
    pa.field("license", pa.string()),
    pa.field("locator", pa.string(), nullable=False),
    pa.field("url", pa.string()),
    pa.field("input_path", pa.string()),
    pa.field("input_offset", pa.int64()),
    pa.field("fetch_time", pa.string()),
    pa.field("content_type", pa.string()),
    pa.field("http_charset", pa.string()),
    pa.field("raw_sha256", pa.string()),
    pa.field("raw", pa.binary()),
    pa.field("charset", pa.string()),
    pa.field("charset_evidence", pa.string()),
    pa.field("title", pa.string()),
    pa.field("text", pa.string()),
    pa.field("text_sha256", pa.string()),
    pa.field("n_chars", pa.int64()),
    pa.field("n_tokens", pa.int64()),
    # WARC provenance (null for other inputs): the record's own id and its payload digest header.
    pa.field("warc_record_id", pa.string()),
    pa.field("payload_digest", pa.string()),
    pa.field("dup_cluster_size", pa.int64()),
    *FILING_FIELDS,
    *LICENSE_FIELDS,
]

DOC_SCHEMA = pa.schema(DOC_FIELDS, metadata={"corpus.schema_version": SCHEMA_VERSION})

#: Every dropped record, whatever stage dropped it. ``rule``/``value``/``threshold`` keep the
#: measured score next to the limit it failed, so a rejection can be re-judged without recomputing.
REJECT_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("source", pa.string()),
        pa.field("locator", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("input_path", pa.string()),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("rule", pa.string()),
        pa.field("value", pa.float64()),
        pa.field("threshold", pa.float64()),
        pa.field("detail", pa.string()),
        pa.field("duplicate_of", pa.string()),
        pa.field("raw_sha256", pa.string()),
        pa.field("fetch_time", pa.string()),
        pa.field("license", pa.string()),
    ],
    metadata={"corpus.schema_version": SCHEMA_VERSION},
)


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of ``data``; the one content hash used everywhere in manifests."""
    return hashlib.sha256(data).hexdigest()


def make_doc_id(locator: str, content_sha256: str) -> str:
    """Stable document id: the same bytes at the same locator always get the same id.

    Both parts matter: the locator tells two captures of a page apart, the content hash tells a
    changed page at the same URL apart. 128 bits keep collisions out of reach at corpus scale.
    """
    return hashlib.sha256(f"{locator}\n{content_sha256}".encode("utf-8")).hexdigest()[:32]


def table_from_rows(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """A table of ``schema`` from row dicts, missing keys as nulls, extra keys ignored.

    Built column by column (one list per field), which is several times faster than a dict per
    row when a batch has dozens of columns.
    """
    return pa.table([pa.array([r.get(f.name) for r in rows], f.type) for f in schema], schema=schema)


def docs_from_rows(rows: list[dict], schema: pa.Schema = DOC_SCHEMA) -> pa.Table:
    """Build a document table from row dicts, filling missing columns with nulls."""
    return table_from_rows(rows, schema)


def rejects_from_rows(rows: list[dict]) -> pa.Table:
    """Build a rejected-record table from row dicts, filling missing columns with nulls."""
    return table_from_rows(rows, REJECT_SCHEMA)
