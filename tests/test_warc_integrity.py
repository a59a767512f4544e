"""WARC record integrity: lengths that lie, digests that do not match, truncation, garbage, and
warcio's own broken fixtures. Every file's records are counted independently of the reader, and
kept + rejected must equal that count: no record disappears, none is kept damaged."""

from __future__ import annotations

import gzip
import re
import shutil
from pathlib import Path

import pytest

from corpus.document import sha256_hex

from readers_util import read, reopen
from warc_build import Rec, count_headers, write

PAGES = "law_html/lawegov_2013_sjis/html"


def _bodies(shared: Path, n: int) -> list[bytes]:
    files = sorted((shared / PAGES).glob("*.html"))[:n]
    return [f.read_bytes() for f in files]


def _hostile(shared: Path) -> list[Rec]:
    b = _bodies(shared, 9)
    return [
        Rec("https://law.example.jp/0", b[0]),
        Rec("https://law.example.jp/too-long", b[1], length_delta=+700),  # swallows the start of the next record
        Rec("https://law.example.jp/2", b[2]),
        Rec("https://law.example.jp/too-short", b[3], length_delta=-300),  # would keep a truncated payload
        Rec("https://law.example.jp/4", b[4], algo="sha256", form="base16"),
        Rec("https://law.example.jp/bad-block", b[5], bad_digest="block"),
        Rec("https://law.example.jp/6", b[6], form="base64"),
        Rec("https://law.example.jp/bad-payload", b[7], bad_digest="payload", algo="sha256", form="base16"),
        Rec("https://law.example.jp/8", b[8]),
    ]


EXPECTED = {
    "https://law.example.jp/too-long": "warc_bad_length",
    "https://law.example.jp/too-short": "warc_bad_length",
    "https://law.example.jp/bad-block": "warc_digest_mismatch",
    "https://law.example.jp/bad-payload": "warc_digest_mismatch",
}


@pytest.mark.parametrize("gz", [False, True], ids=["warc", "warc.gz"])
def test_lying_lengths_and_digests_are_rejections_and_every_other_record_is_read(shared, tmp_path, gz):
    records = _hostile(shared)
    path = tmp_path / ("hostile.warc.gz" if gz else "hostile.warc")
    offsets = write(path, records, gz)
    plain = b"".join(r.bytes() for r in records)
    assert count_headers(plain) == len(records)  # the independent count
    rows, rejected, counts, roots = read(path)
    assert len(rows) + len(rejected) == count_headers(plain) == counts.docs_in
    assert {r["url"]: r["reason"] for r in rejected} == EXPECTED
    kept = {r["url"]: r for r in rows}
    assert sorted(kept) == sorted(r.url for r in records if r.url not in EXPECTED)
    for i, rec in enumerate(records):
        if rec.url in kept:
            row = kept[rec.url]
            assert row["raw"] == rec.body and row["input_offset"] == offsets[i]
            assert sha256_hex(reopen(row["locator"], roots).payload) == row["raw_sha256"]
    by_url = {r["url"]: r for r in rejected}
    for url in EXPECTED:  # each rejection names the file and the record's offset
        assert by_url[url]["locator"] == f"warc:{path.name}#{offsets[[r.url for r in records].index(url)]}"
    assert "does not end at a record boundary" in by_url["https://law.example.jp/too-long"]["detail"]
    assert "payload digest failed" in by_url["https://law.example.jp/bad-payload"]["detail"]
    assert "block digest failed" in by_url["https://law.example.jp/bad-block"]["detail"]


@pytest.mark.parametrize("gz", [False, True], ids=["warc", "warc.gz"])
def test_a_length_past_the_end_of_the_file_loses_no_record(shared, tmp_path, gz):
    b = _bodies(shared, 3)
    records = [Rec("https://x.example.jp/a", b[0]), Rec("https://x.example.jp/huge", b[1], length_delta=10 << 20), Rec("https://x.example.jp/c", b[2])]
    path = tmp_path / ("l.warc.gz" if gz else "l.warc")
    write(path, records, gz)
    rows, rejected, _, _ = read(path)
    assert [r["url"] for r in rows] == ["https://x.example.jp/a", "https://x.example.jp/c"]
    assert [(r["url"], r["reason"]) for r in rejected] == [("https://x.example.jp/huge", "warc_bad_length")]


@pytest.mark.parametrize("gz", [False, True], ids=["warc", "warc.gz"])
def test_a_file_cut_anywhere_reports_the_cut_record_and_keeps_the_ones_before(shared, tmp_path, gz):
    records = [Rec(f"https://cut.example.jp/{i}", body) for i, body in enumerate(_bodies(shared, 4))]
    whole = tmp_path / ("whole.warc.gz" if gz else "whole.warc")
    offsets = write(whole, records, gz)
    data = whole.read_bytes()
    for cut in range(97, len(data), max(1, len(data) // 37)):
        path = tmp_path / f"cut{cut}{whole.suffix if not gz else '.warc.gz'}"
        path.write_bytes(data[:cut])
        rows, rejected, _, _ = read(path)
        started = sum(1 for o in offsets if o < cut)  # records whose first byte survived the cut
        assert len(rows) + len(rejected) == started, cut
        assert [r["url"] for r in rows] == [r.url for r in records[: started - 1]] or len(rows) == started, cut
        assert all(r["reason"] in ("warc_truncated_record", "warc_unreadable") for r in rejected), cut
        path.unlink()


@pytest.mark.parametrize("gz", [False, True], ids=["warc", "warc.gz"])
def test_garbage_between_records_is_one_rejection_and_reading_resynchronises(shared, tmp_path, gz):
    records = [Rec(f"https://g.example.jp/{i}", body) for i, body in enumerate(_bodies(shared, 4))]
    chunks = [gzip.compress(r.bytes(), mtime=0) if gz else r.bytes() for r in records]
    junk = b"\x00garbage that is not a record\r\n" * 40
    path = tmp_path / ("g.warc.gz" if gz else "g.warc")
    path.write_bytes(chunks[0] + chunks[1] + junk + chunks[2] + chunks[3])
    rows, rejected, _, _ = read(path)
    assert [r["url"] for r in rows] == [r.url for r in records]
    assert [r["reason"] for r in rejected] == ["warc_unreadable"]
    start = len(chunks[0]) + len(chunks[1])
    assert rejected[0]["locator"].endswith(f"#{start}") and f"up to offset {start + len(junk)}" in rejected[0]["detail"]


def _document_records(data: bytes) -> int:
    """Response/resource records in a (possibly gzipped) WARC, by their WARC-Type header lines."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return len(re.findall(rb"\r\nWARC-Type: (?:response|resource)\r\n", data))


FIXTURES = {  # file -> (kept, {reason: count})
    "example.warc.gz": (1, {}),
    "example.warc": (1, {}),
    "example-resource.warc.gz": (1, {}),
    "example-space-in-target-uri.warc.gz": (1, {}),
    "example-wget-bad-target-uri.warc.gz": (3, {}),
    "example-digest.warc": (0, {}),  # request records only
    "example-trunc.warc": (0, {"warc_bad_length": 1}),  # Content-Length 2 bytes short of the record
    "example-wrong-chunks.warc.gz": (0, {"warc_bad_length": 1}),  # Content-Length 1 byte short
    "example-bad-non-chunked.warc.gz": (0, {"warc_not_chunked": 1}),
    "example-bad.warc.gz.bad": (0, {"warc_not_chunked": 2}),
}


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_warcio_broken_fixtures_account_for_every_record(shared, tmp_path, name):
    src = shared / "warc/warcio_fixtures" / name
    path = tmp_path / name.removesuffix(".bad")
    shutil.copy(src, path)
    rows, rejected, counts, roots = read(path)
    kept, reasons = FIXTURES[name]
    assert len(rows) == kept
    assert {r: sum(1 for x in rejected if x["reason"] == r) for r in {x["reason"] for x in rejected}} == reasons
    assert counts.docs_in == _document_records(src.read_bytes())
    for row in rows:
        assert sha256_hex(reopen(row["locator"], roots).payload) == row["raw_sha256"]


def test_arc_file_is_read(shared, tmp_path):
    path = tmp_path / "example.arc.gz"
    shutil.copy(shared / "warc/warcio_fixtures/example.arc.gz", path)
    rows, rejected, _, roots = read(path)
    assert not rejected and [r["url"] for r in rows] == ["http://example.com/"]
    assert b"Example Domain" in rows[0]["raw"]
    assert sha256_hex(reopen(rows[0]["locator"], roots).payload) == rows[0]["raw_sha256"]
