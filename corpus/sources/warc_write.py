"""Write HTTP responses into a WARC file (deterministically, so fixtures and samples are stable).

Record ids are UUIDv5 of URL, date and payload digest instead of random UUIDs: the same pages
always give the same bytes, which keeps sample data and test fixtures reproducible.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

NAMESPACE = uuid.UUID("6f1c9a52-3f0b-4d7e-9a43-2f1d0c5b7e11")


@dataclass(frozen=True)
class HttpCapture:
    url: str
    date: str  # WARC-Date, e.g. "2015-05-15T00:00:00Z"
    payload: bytes
    content_type: str = "text/html"
    status: str = "200 OK"


def write_warc(path: Path, captures: list[HttpCapture], gzip: bool = True) -> Path:
    """Write one response record per capture; returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=gzip)
        for cap in captures:
            digest = hashlib.sha256(cap.payload).hexdigest()
            record_id = f"<urn:uuid:{uuid.uuid5(NAMESPACE, cap.url + cap.date + digest)}>"
            http_headers = StatusAndHeaders(
                cap.status,
                [("Content-Type", cap.content_type), ("Content-Length", str(len(cap.payload)))],
                protocol="HTTP/1.1",
            )
            record = writer.create_warc_record(
                cap.url,
                "response",
                payload=BytesIO(cap.payload),
                http_headers=http_headers,
                warc_headers_dict={"WARC-Date": cap.date, "WARC-Record-ID": record_id},
            )
            writer.write_record(record)
    return path
