"""Find the input files a run will read, and hash them, before any work starts.

Inputs are listed once, in sorted order, so a run over the same files always plans the same
partitions (which is what makes checkpoints reusable and output deterministic).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from corpus.provenance.hashing import file_sha256

WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
TEXT_SUFFIXES = (".txt",)
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson")
PARQUET_SUFFIXES = (".parquet",)
XML_SUFFIXES = (".xml",)
PDF_SUFFIXES = (".pdf",)

#: Reader kind -> file name endings it claims (first match wins, so ".warc.gz" beats nothing else).
KIND_SUFFIXES: dict[str, tuple[str, ...]] = {
    "warc": WARC_SUFFIXES,
    "html": HTML_SUFFIXES,
    "text": TEXT_SUFFIXES,
    "jsonl": JSONL_SUFFIXES,
    "parquet": PARQUET_SUFFIXES,
    "law_xml": XML_SUFFIXES,  # or kokkai_xml: see xml_kind
    "pdf": PDF_SUFFIXES,
}
ALL_SUFFIXES = tuple(s for suffixes in KIND_SUFFIXES.values() for s in suffixes)


class InputError(ValueError):
    """An input path that cannot be read at all (missing, or of a kind no reader handles)."""


def recorded_path(path: str | Path) -> str:
    """A local path as locators and manifests record it: relative to the working directory when it
    lies below it, absolute otherwise.

    The path is part of every ``doc_id`` (and so of the split, the shard order and the shard bytes),
    so it must not depend on how the spec path was spelled: a checkout run from its root records
    ``data/sample/...`` whether the spec was named as ``pipelines/sample.toml`` or by an absolute
    path, and wherever the checkout was cloned.
    """
    absolute, cwd = os.path.abspath(path), os.getcwd()
    if absolute == cwd:
        return "."
    if absolute.startswith(cwd.rstrip(os.sep) + os.sep):
        return os.path.relpath(absolute, cwd)
    return absolute


@dataclass(frozen=True)
class InputFile:
    """One file to read, with the source name and licence its spec entry gave it.

    ``path`` is what locators record (``recorded_path``); ``read_path`` is the absolute path the
    readers open, fixed on the driver, so Ray workers whose working directory differs (on a
    cluster) still find the file on shared storage.
    """

    path: str
    read_path: str
    kind: str  # a key of KIND_SUFFIXES
    size: int
    sha256: str
    source: str
    license: str
    text_column: str = "text"  # JSONL field / Parquet column with the text


#: How every XML input is parsed: large documents allowed (会社法 is 3 MB), no entity expansion
#: and no network access (an input file must not make the reader fetch or inflate anything).
XML_PARSE_OPTIONS = {"huge_tree": True, "resolve_entities": False, "no_network": True}


def parse_xml(data: bytes) -> Any:
    """The root element of an XML input (raises ``etree.XMLSyntaxError`` for broken XML)."""
    return etree.fromstring(data, etree.XMLParser(**XML_PARSE_OPTIONS))


def xml_encoding(root: Any) -> str:
    """The encoding an XML input declared (UTF-8 when it declares none), lower-case."""
    return (root.getroottree().docinfo.encoding or "utf-8").lower()


def xml_kind(path: Path) -> str:
    """``.xml`` is e-Gov law XML or a 国会会議録検索システム API response; the root element decides.

    The API wraps every response, records or error, in ``<data>``; law XML is ``<Law>`` or an
    e-Gov API envelope. XML that does not parse goes to the law reader, which rejects it with the
    parser's message.
    """
    try:
        for _, element in etree.iterparse(str(path), events=("start",), **XML_PARSE_OPTIONS):
            return "kokkai_xml" if element.tag == "data" else "law_xml"
    except etree.XMLSyntaxError:
        pass
    return "law_xml"


def kind_of(path: Path, format: str | None = None) -> str | None:
    """The reader for a file: ``format`` when the spec forces one, else by name; None when no reader handles it."""
    if format is not None:
        return format
    name = path.name.lower()
    for kind, suffixes in KIND_SUFFIXES.items():
        if name.endswith(suffixes):
            return xml_kind(path) if kind == "law_xml" else kind
    return None


def expand_input(
    path: Path, source: str, license: str, format: str | None = None, text_column: str = "text"
) -> tuple[list[InputFile], list[str]]:
    """Files under ``path`` that a reader handles, and the ones skipped (recorded, not lost).

    A file named explicitly must be readable; inside a directory, files of other kinds
    (index.tsv, images) are listed as skipped so the manifest shows they were seen. A forced
    ``format`` applies to every file under ``path`` (hidden files excepted).
    """
    if not path.exists():
        raise InputError(f"input not found: {path}")
    if path.is_file():
        kind = kind_of(path, format)
        if kind is None:
            raise InputError(f"input {path}: unsupported file type (expected {', '.join(ALL_SUFFIXES)})")
        candidates = [path]
    else:
        candidates = sorted(p for p in path.rglob("*") if p.is_file())
    found: list[InputFile] = []
    skipped: list[str] = []
    for p in candidates:
        kind = None if format and p.name.startswith(".") else kind_of(p, format)
        if kind is None:
            skipped.append(recorded_path(p))
            continue
        found.append(
            InputFile(recorded_path(p), os.path.abspath(p), kind, p.stat().st_size, file_sha256(p), source, license, text_column)
        )
    return found, skipped
