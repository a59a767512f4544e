"""Readers on real WARC and HTML files, including broken ones from warcio's own test data."""

from __future__ import annotations

import gzip
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from corpus.document import sha256_hex
from corpus.sources.inputs import InputError
from corpus.sources.read import expand_input, read_inputs
from corpus.sources.warc_write import HttpCapture, write_warc

import pytest

from readers_util import reopen


def _inputs(path: Path):
    return expand_input(str(path), "test", "LicenseRef-test").ranges


def test_common_crawl_warc_response_is_read_with_a_locator_that_reopens_it(shared):
    path = shared / "warc/commoncrawl_whirlwind/whirlwind.warc.gz"
    table, rejected, counts = read_inputs(_inputs(path))
    assert rejected.num_rows == 0
    assert counts.docs_in == counts.docs_out == 1  # warcinfo, request and metadata are not documents
    row = table.to_pylist()[0]
    assert row["url"] == "https://an.wikipedia.org/wiki/Escopete"
    assert row["locator"] == f"warc:whirlwind.warc.gz#{row['input_offset']}"  # relative to the input root
    with open(path, "rb") as fh:
        fh.seek(row["input_offset"])
        record = next(iter(ArchiveIterator(fh)))
        assert record.rec_headers.get_header("WARC-Target-URI") == row["url"]
        assert record.content_stream().read() == row["raw"]
    located = reopen(row["locator"], {"whirlwind.warc.gz": str(path)})
    assert sha256_hex(located.payload) == row["raw_sha256"] and located.headers["WARC-Target-URI"] == row["url"]


def test_truncated_record_is_rejected_and_earlier_records_survive(shared, tmp_path):
    pages = [
        HttpCapture(f"http://law.e-gov.go.jp/htmldata/S56/S56HO059.html?v={i}", "2015-05-15T00:00:00Z",
                    (shared / "near_dup/law_versions_sjis/ginkoho_S56HO059/2015-05-15.html").read_bytes(),
                    "text/html; charset=Shift_JIS")
        for i in range(2)
    ]
    whole = write_warc(tmp_path / "whole.warc", pages, gzip=False).read_bytes()
    cut = tmp_path / "cut.warc"
    cut.write_bytes(whole[: len(whole) - 200_000])  # the second record loses its tail
    table, rejected, counts = read_inputs(_inputs(cut))
    assert table.num_rows == 1 and table.column("url")[0].as_py().endswith("v=0")
    assert rejected.to_pylist()[0]["reason"] == "warc_truncated_record"
    assert rejected.to_pylist()[0]["locator"].startswith("warc:cut.warc#")
    assert counts.docs_in == 2


def test_truncated_gzip_warc_is_rejected_not_raised(shared, tmp_path):
    data = (shared / "warc/commoncrawl_whirlwind/whirlwind.warc.gz").read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[:9000])
    table, rejected, _ = read_inputs(_inputs(cut))
    assert table.num_rows == 0
    assert rejected.column("reason").to_pylist() == ["warc_truncated_record"]


def test_records_compressed_together_are_named_not_lost(shared, tmp_path):
    """warcio refuses a .warc.gz whose records share one gzip member; each document record in it
    is a rejection saying why its offset cannot reopen it."""
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes((shared / "warc/warcio_fixtures/example-bad-non-chunked.warc.gz").read_bytes())
    table, rejected, counts = read_inputs(_inputs(bad))
    assert table.num_rows == 0
    assert rejected.column("reason").to_pylist() == ["warc_not_chunked"]
    assert "one record per member" in rejected.column("detail")[0].as_py()
    assert counts.docs_in == counts.docs_out + 1


def test_garbage_named_warc_is_one_rejection_for_the_whole_file(tmp_path):
    for name, data in (("garbage.warc", b"\x00junk\r\n" * 500), ("garbage.warc.gz", b"\x1f\x8b\x08junk" * 300)):
        (tmp_path / name).write_bytes(data)
        table, rejected, counts = read_inputs(_inputs(tmp_path / name))
        assert table.num_rows == 0 and rejected.column("reason").to_pylist() == ["warc_unreadable"], name
        assert "to the end of the file" in rejected.column("detail")[0].as_py()


def test_written_warc_round_trips_and_is_deterministic(shared, tmp_path):
    payload = (shared / "law_html/lawegov_2013_sjis/html/d3706fc85c406a45.html").read_bytes()
    cap = [HttpCapture("http://law.e-gov.go.jp/x.html", "2013-11-01T00:00:00Z", payload, "text/html; charset=Shift_JIS")]
    a = write_warc(tmp_path / "a.warc.gz", cap).read_bytes()
    b = write_warc(tmp_path / "b.warc.gz", cap).read_bytes()
    assert gzip.decompress(a) == gzip.decompress(b)
    table, _, _ = read_inputs(_inputs(tmp_path / "a.warc.gz"))
    assert table.column("raw")[0].as_py() == payload
    assert table.column("http_charset")[0].as_py() == "shift_jis"


def test_directory_inputs_are_sorted_and_other_files_are_listed_as_skipped(shared):
    exp = expand_input(str(shared / "law_html/egov_2025_utf8"), "s", "l")
    assert [f.path for f in exp.files] == sorted(f.path for f in exp.files)
    assert len(exp.files) == 17 and all(f.path.startswith("egov_2025_utf8/") for f in exp.files)
    assert [(s["path"], s["reason"]) for s in exp.skipped] == [("egov_2025_utf8/index.tsv", "no reader for this file type")]


def test_missing_or_unsupported_named_input_is_an_error(shared, tmp_path):
    with pytest.raises(InputError, match="not found"):
        expand_input(str(tmp_path / "nope.html"), "s", "l")
    with pytest.raises(InputError, match="unsupported"):
        expand_input(str(shared / "law_html/egov_2025_utf8/index.tsv"), "s", "l")
