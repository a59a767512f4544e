"""Splittable inputs: a .warc.gz cut at gzip members, JSONL at line starts, Parquet at row groups.
Read in many small ranges, every input gives exactly the rows (doc_ids, locators, texts) and
rejections it gives read whole."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.sources.read import expand_input, read_inputs
from corpus.sources.registry import reader
from corpus.sources.warc_write import HttpCapture, write_warc

COLUMNS = ["doc_id", "locator", "url", "text", "raw", "raw_sha256", "input_offset", "title"]


def _read(path: Path, split: int, **kw):
    exp = expand_input(str(path), "s", "l", split_bytes=split, **kw)
    table, rejected, counts = read_inputs(exp.ranges)
    return exp, table.select(COLUMNS).to_pylist(), rejected.to_pylist(), counts


def _same_whole_and_split(path: Path, split: int, min_ranges: int, **kw) -> list[dict]:
    whole, rows, rejected, counts = _read(path, 1 << 30, **kw)
    parts, split_rows, split_rejected, split_counts = _read(path, split, **kw)
    assert len(whole.ranges) == 1 and len(parts.ranges) >= min_ranges
    assert whole.files == parts.files  # same hash, same file record
    assert split_rows == rows and split_rejected == rejected
    assert (split_counts.docs_in, split_counts.docs_out) == (counts.docs_in, counts.docs_out)
    starts = [r.start for r in parts.ranges]
    assert starts == sorted(set(starts)) and parts.ranges[-1].end is None
    assert all(a.end == b.start for a, b in zip(parts.ranges, parts.ranges[1:]))
    return rows


def test_warc_gz_splits_at_gzip_members(shared, tmp_path):
    pages = sorted((shared / "law_html/lawegov_2013_sjis/html").glob("*.html"))[:24]
    caps = [HttpCapture(f"https://law.example.jp/{p.stem}", "2013-12-01T00:00:00Z", p.read_bytes(), "text/html; charset=Shift_JIS") for p in pages]
    path = write_warc(tmp_path / "crawl.warc.gz", caps)
    rows = _same_whole_and_split(path, 4000, 8)
    assert [r["url"] for r in rows] == [c.url for c in caps]
    assert [r["raw"] for r in rows] == [c.payload for c in caps]


def test_warc_gz_cut_points_are_members_that_start_a_record(shared, tmp_path):
    """warcio's wrong-chunks fixture has a member that continues a record: it is never a cut."""
    path = tmp_path / "w.warc.gz"
    shutil.copy(shared / "warc/warcio_fixtures/example-wrong-chunks.warc.gz", path)
    plan = reader("warc").plan(str(path), path.stat().st_size, 1)
    assert [start for start, _, _ in plan.ranges] == [0, 1130]  # not 516, where the payload's member starts


def test_jsonl_splits_at_line_starts_and_keeps_line_numbers(shared, tmp_path):
    sentences = [s for f in sorted((shared / "finance/chabsa").glob("e*_ann.json"))[:4] for s in json.loads(f.read_text(encoding="utf-8"))["sentences"]]
    assert len(sentences) >= 40
    lines = [json.dumps({"text": s["sentence"], "url": f"https://x.example/{i}"}, ensure_ascii=False) for i, s in enumerate(sentences[:40])]
    lines[7], lines[19] = "{broken", ""  # a bad line and a blank line keep their numbers
    path = tmp_path / "chabsa.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = _same_whole_and_split(path, 700, 10)
    assert [int(r["locator"].rsplit("#", 1)[1]) for r in rows] == [n for n in range(1, 41) if n not in (8, 20)]
    assert [r["text"] for r in rows] == [s["sentence"] for i, s in enumerate(sentences[:40]) if i not in (7, 19)]


def test_jsonl_without_final_newline_and_crlf_lines(shared, tmp_path):
    texts = [ln for ln in (shared / "law_html/lawegov_2013_sjis/text/bf2a36e69d30a929.txt").read_text(encoding="utf-8").splitlines() if ln.strip()][:30]
    path = tmp_path / "crlf.jsonl"
    path.write_bytes("\r\n".join(json.dumps({"text": t}, ensure_ascii=False) for t in texts).encode("utf-8"))
    rows = _same_whole_and_split(path, 200, 5)
    assert [r["text"] for r in rows] == texts


@pytest.mark.parametrize("group_rows", [1, 3])
def test_parquet_splits_at_row_groups_and_keeps_row_numbers(shared, tmp_path, group_rows):
    texts = [p.read_text(encoding="utf-8") for p in sorted((shared / "law_html/lawegov_2013_sjis/text").glob("*.txt"))[:17]]
    texts[5] = None  # a row without text stays a rejection at the same row number
    path = tmp_path / "laws.parquet"
    pq.write_table(pa.table({"text": texts, "url": [f"u{i}" for i in range(17)]}), path, row_group_size=group_rows)
    rows = _same_whole_and_split(path, 1, 17 // group_rows)
    assert [int(r["locator"].rsplit("#", 1)[1]) for r in rows] == [i for i in range(17) if i != 5]
    assert [r["url"] for r in rows] == [f"u{i}" for i in range(17) if i != 5]


def test_hostile_warc_gz_gives_the_same_rows_and_rejections_split_or_whole(shared, tmp_path):
    """Lying lengths, bad digests, junk between members and a corrupt member, read in small ranges."""
    import gzip

    from test_warc_integrity import _hostile

    members = [gzip.compress(r.bytes(), mtime=0) for r in _hostile(shared)]
    corrupt = bytearray(members[6])
    corrupt[len(corrupt) // 2:len(corrupt) // 2 + 40] = b"\0" * 40  # deflate data destroyed mid-member
    members[6] = bytes(corrupt)
    path = tmp_path / "hostile.warc.gz"
    path.write_bytes(b"".join(members[:3]) + b"junk between members\r\n" * 20 + b"".join(members[3:]))
    _, rows, rejected, counts = _read(path, 1 << 30)
    assert counts.docs_in == len(members) + 1  # every record, and one rejection for the junk
    assert sorted(r["reason"] for r in rejected) == sorted(
        ["warc_bad_length", "warc_bad_length", "warc_digest_mismatch", "warc_digest_mismatch", "warc_unreadable", "warc_corrupt_record"])
    _same_whole_and_split(path, 3000, 5)
