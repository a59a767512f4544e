"""Row builders every reader shares: where a payload came from (``Origin``) and the rows made from it.

A reader turns bytes into documents; what it must not get wrong is the bookkeeping around them:
the locator, the ``doc_id`` derived from it, the source and licence of the input, and for a payload
found inside a WARC record the record's URL, date and ids. ``Origin`` carries all of that, so the
same ``documents()`` code reads a law XML file on disk and a law XML response inside a crawl.

Readers that decode while reading (JSONL, Parquet, law XML, Diet XML, PDF) set ``text`` and leave
``raw`` empty; the extract stage passes their rows through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from corpus.document import make_doc_id
from corpus.io.bounded import TooLarge
from corpus.sources.inputs import InputFile
from corpus.stage import Rejection

#: A reader's output: a document row, or (row, Rejection) for a record it could not read.
Item = dict[str, Any] | tuple[dict[str, Any], Rejection]


@dataclass(frozen=True)
class Origin:
    """Where a payload's bytes were found, and what every document read from them inherits.

    ``locator`` points at the payload itself (``law:<path>``, ``warc:<path>#<offset>``).
    ``nested`` is True inside a container record (a WARC response): there one payload's several
    documents are told apart as ``<locator>/<part>``, and a single document is the record itself.
    ``fields`` are columns the container knows (url, fetch_time, warc_record_id, input_offset...).
    """

    file: InputFile
    locator: str
    nested: bool = False
    fields: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of_file(cls, file: InputFile, locator_kind: str) -> "Origin":
        return cls(file, f"{locator_kind}:{file.path}")

    def locate(self, fragment: str | None = None, part: str | None = None) -> str:
        """The locator of one document of this payload.

        ``part`` names one of several documents in the payload (a Diet meeting's issueID): it is
        ``#part`` after a file and ``/part`` after a WARC record. ``fragment`` only labels the one
        document of a file (a law's ``LawID@revision``); inside a record the record's own locator
        already says which bytes it is.
        """
        if part is not None:
            return f"{self.locator}/{part}" if self.nested else f"{self.locator}#{part}"
        if fragment is not None and not self.nested:
            return f"{self.locator}#{fragment}"
        return self.locator

    def base(self, locator: str) -> dict[str, Any]:
        return {
            **self.fields,
            "source": self.file.source,
            "license": self.file.license,
            "input_path": self.file.path,
            "locator": locator,
        }

    def row(self, locator: str, raw_sha256: str, **columns: Any) -> dict[str, Any]:
        """A document row; ``columns`` set by the reader win over the container's (a meeting's own
        URL over the API URL it was fetched from), except where the reader has no value."""
        row = self.base(locator)
        row.update({k: v for k, v in columns.items() if v is not None or k not in row})
        row["raw_sha256"] = raw_sha256
        row["doc_id"] = make_doc_id(locator, raw_sha256)
        return row

    def text_row(
        self, locator: str, text: str, raw_sha256: str, charset: str | None, evidence: str,
        content_type: str = "text/plain", **extra: Any,
    ) -> dict[str, Any]:
        """A row whose text is already decoded; ``raw_sha256`` hashes the exact bytes that
        ``open_locator(locator)`` gives back."""
        return self.row(locator, raw_sha256, content_type=content_type, charset=charset, charset_evidence=evidence, text=text, **extra)

    def reject(self, why: Rejection, locator: str | None = None, tag: str = "unreadable", raw_sha256: str | None = None) -> tuple[dict[str, Any], Rejection]:
        """A rejection item; without content the doc_id hashes ``tag`` instead of a content hash."""
        where = locator or self.locator
        row = self.base(where)
        row["doc_id"] = make_doc_id(where, raw_sha256 or tag)
        if raw_sha256:
            row["raw_sha256"] = raw_sha256
        return row, why


def too_large(exc: TooLarge) -> Rejection:
    """The ``too_large`` rejection of a limit hit while reading: value = bytes seen, threshold = limit."""
    return Rejection("too_large", rule=exc.setting, value=float(exc.seen), threshold=float(exc.limit), detail=str(exc))


def failure(reason: str, exc: BaseException) -> Rejection:
    """A rejection naming the exception (class and message), kept short enough for a report row."""
    return Rejection(reason, detail=f"{type(exc).__name__}: {exc}".strip()[:500])
