"""Readers on real WARC and HTML files, including broken ones from warcio's own test data."""

from __future__ import annotations

import gzip
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from corpus.sources.inputs import InputError, expand_input
from corpus.sources.read import read_inputs
from corpus.sources.warc_write import HttpCapture, write_warc

import pytest


def _inputs(path: Path):
    files, _ = expand_input(path, "test", "LicenseRef-test")
    return files


def test_common_crawl_warc_response_is_read_with_a_locator_that_reopens_it(shared):
    path = shared / "warc/commoncrawl_whirlwind/whirlwind.warc.gz"
    table, rejected, counts = read_inputs(_inputs(path))
    assert rejected.num_rows == 0
    assert counts.docs_in == counts.docs_out == 1  # warcinfo, request and metadata are not documents
    row = table.to_pylist()[0]
    assert row["url"] == "https://an.wikipedia.org/wiki/Escopete"
    assert row["locator"] == f"warc:{path}#{row['input_offset']}"
    with open(path, "rb") as fh:
        fh.seek(row["input_offset"])
        record = next(iter(ArchiveIterator(fh)))
        assert record.rec_headers.get_header("WARC-Target-URI") == row["url"]
        assert record.content_stream().read() == row["raw"]


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
    assert rejected.to_pylist()[0]["locator"].startswith(f"warc:{cut}#")
    assert counts.docs_in == 2


def test_truncated_gzip_warc_is_rejected_not_raised(shared, tmp_path):
    data = (shared / "warc/commoncrawl_whirlwind/whirlwind.warc.gz").read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[:9000])
    table, rejected, _ = read_inputs(_inputs(cut))
    assert table.num_rows == 0
    assert rejected.column("reason").to_pylist() == ["warc_truncated_record"]


def test_unreadable_warc_framing_is_one_rejection(shared, tmp_path):
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes((shared / "warc/warcio_fixtures/example-bad-non-chunked.warc.gz").read_bytes())
    table, rejected, counts = read_inputs(_inputs(bad))
    assert table.num_rows == 0
    assert rejected.column("reason").to_pylist() == ["warc_unreadable"]
    assert "non-chunked gzip" in rejected.column("detail")[0].as_py()
    assert counts.docs_in == counts.docs_out + 1


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
    files, skipped = expand_input(shared / "law_html/egov_2025_utf8", "s", "l")
    assert [f.path for f in files] == sorted(f.path for f in files)
    assert len(files) == 17
    assert [Path(s).name for s in skipped] == ["index.tsv"]


def test_missing_or_unsupported_named_input_is_an_error(shared, tmp_path):
    with pytest.raises(InputError, match="not found"):
        expand_input(tmp_path / "nope.html", "s", "l")
    with pytest.raises(InputError, match="unsupported"):
        expand_input(shared / "law_html/egov_2025_utf8/index.tsv", "s", "l")
