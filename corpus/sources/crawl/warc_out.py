"""Rotating WARC/1.1 output: request, response and a metadata record per HTTP exchange.

The metadata record (``application/json``) holds the crawl's decision about the exchange (stored,
retry, redirect followed or refused, ...) and refers to the response by WARC-Record-ID, so the
WARC alone explains why each page is or is not there. A new file is started when the current one
passes ``max_bytes`` and on every restart (an interrupted file is never appended to), numbered
``<name>-00000.warc.gz``, ``-00001``, ...

Kill-safety: records are written whole between two points the caller commits to its state
database (the crawl frontier, the fetch state) together with the outcome they record: the file
name and offset from :meth:`WarcOutput.position`. A process killed mid-record leaves bytes past the
last committed offset; :func:`repair` cuts them off on the next start, and the requests they
belonged to, still queued in the state, are made again. Only files the ledger knows are touched.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from corpus import __version__
from corpus.sources.crawl.fetch import FetchResult


def warc_date() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def repair(directory: Path, committed: dict[str, int]) -> list[str]:
    """Cut every ledger file back to its committed offset (remove it when nothing was committed).

    Returns one line per file changed, for the log.
    """
    changes = []
    for name, offset in sorted(committed.items()):
        path = directory / name
        if not path.exists():
            continue
        size = path.stat().st_size
        if offset == 0:
            path.unlink()
            changes.append(f"{name}: removed ({size} uncommitted bytes)")
        elif size > offset:
            with path.open("r+b") as fh:
                fh.truncate(offset)
            changes.append(f"{name}: cut from {size} to {offset} bytes (records of an interrupted run)")
    return changes


class WarcOutput:
    def __init__(self, directory: Path, name: str, max_bytes: int, gzip: bool, operator: str,
                 software: str = "corpus crawl", on_open: Callable[[str], None] | None = None):
        """``on_open(file name)`` is called before anything is written to a new file (the ledger entry)."""
        self.directory = directory
        self.name = name
        self.max_bytes = max_bytes
        self.gzip = gzip
        self.operator = operator
        self.software = software
        self.on_open = on_open
        self.suffix = ".warc.gz" if gzip else ".warc"
        pattern = re.compile(rf"^{re.escape(name)}-(\d{{5}}){re.escape(self.suffix)}$")
        taken = [int(m.group(1)) for p in directory.glob(f"{name}-*") if (m := pattern.match(p.name))]
        self.next_index = max(taken, default=-1) + 1
        self.fh = None
        self.writer: WARCWriter | None = None
        self.path: Path | None = None
        self.files: list[Path] = []

    def _open(self) -> None:
        self.path = self.directory / f"{self.name}-{self.next_index:05d}{self.suffix}"
        self.next_index += 1
        if self.on_open is not None:
            self.on_open(self.path.name)
        self.fh = self.path.open("xb")
        self.writer = WARCWriter(self.fh, gzip=self.gzip, warc_version="1.1")
        self.files.append(self.path)
        info = self.writer.create_warcinfo_record(
            self.path.name,
            {"software": f"jp-corpus/{__version__} ({self.software})", "http-header-user-agent": self.operator,
             "robots": "obey", "format": "WARC File Format 1.1"},
        )
        self.writer.write_record(info)

    def _rotate_if_needed(self) -> None:
        if self.fh is None:
            self._open()
        elif self.fh.tell() >= self.max_bytes:
            self.close()
            self._open()

    def write_exchange(self, res: FetchResult, decision: dict) -> tuple[str, int, str]:
        """Write request + response + metadata; returns (file name, response offset, response record id)."""
        self._rotate_if_needed()
        assert self.writer is not None and self.fh is not None
        date = warc_date()
        response_id = _record_id()
        http_headers = StatusAndHeaders(f"{res.status} {res.reason}".strip(), res.headers, protocol=res.http_version)
        response = self.writer.create_warc_record(
            res.url, "response", payload=BytesIO(res.body), http_headers=http_headers,
            warc_headers_dict={"WARC-Date": date, "WARC-Record-ID": response_id},
        )
        request = self.writer.create_warc_record(
            res.url, "request", payload=BytesIO(b""),
            http_headers=StatusAndHeaders(res.request_line, res.request_headers, is_http_request=True),
            warc_headers_dict={"WARC-Date": date, "WARC-Record-ID": _record_id(), "WARC-Concurrent-To": response_id},
        )
        self.fh.flush()
        offset = self.fh.tell()
        self.writer.write_record(response)
        self.writer.write_record(request)
        self._metadata(res.url, date, decision, response_id)
        self.fh.flush()
        return self.path.name, offset, response_id

    def write_decision(self, url: str, decision: dict) -> None:
        """A metadata record alone: for URLs that produced no complete response (too large, timeout)."""
        self._rotate_if_needed()
        self._metadata(url, warc_date(), decision, None)
        assert self.fh is not None
        self.fh.flush()

    def _metadata(self, url: str, date: str, decision: dict, refers_to: str | None) -> None:
        assert self.writer is not None
        headers = {"WARC-Date": date, "WARC-Record-ID": _record_id()}
        if refers_to:
            headers["WARC-Concurrent-To"] = refers_to
            headers["WARC-Refers-To"] = refers_to
        body = json.dumps(decision, ensure_ascii=False, sort_keys=True).encode("utf-8")
        self.writer.write_record(
            self.writer.create_warc_record(url, "metadata", payload=BytesIO(body), warc_headers_dict=headers,
                                           warc_content_type="application/json")
        )

    def position(self) -> tuple[str, int]:
        """(file name, offset after the last record written): what the caller commits."""
        assert self.path is not None and self.fh is not None
        self.fh.flush()
        return self.path.name, self.fh.tell()

    def close(self) -> None:
        if self.fh is not None:
            self.fh.flush()
            os.fsync(self.fh.fileno())
            self.fh.close()
            self.fh = None
            self.writer = None
