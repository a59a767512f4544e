"""Bounded reading: inputs built to be small on disk and huge when read (bombs), read in a fresh
process whose peak memory is measured. Each over-limit document is a ``too_large`` rejection with
the bytes seen and the limit, the documents around it are read, and the reading process never
holds more than a small multiple of the limit."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.io.bounded import ReadLimits

from pdf_fixtures import bomb_pdf, law_sentences, text_pdf
from readers_util import read
from warc_build import Rec, bomb_member

MiB = 1 << 20
LIMIT = 4 * MiB
#: What the reading process may add to its resident memory while reading a bomb: a few copies
#: of a document at the limit (read buffer, decoded copy, the row) and allocator slack.
BUDGET = 6 * LIMIT + 16 * MiB
TESTS = Path(__file__).resolve().parent
KOJIKI = "wiki/aozora_kojiki_encodings/03gendaigoyaku_kojiki.txt.utf8"


def _peak_read(path: Path, doc_limit: int = LIMIT, line_limit: int = LIMIT, column: str = "text") -> dict:
    out = subprocess.run(
        [sys.executable, str(TESTS / "peak_read.py"), str(path), str(doc_limit), str(line_limit), column],
        capture_output=True, text=True, check=True, timeout=300,
    )
    result = json.loads(out.stdout)
    result["grew"] = (result["peak_kb"] - result["base_kb"]) * 1024
    return result


def _japanese(shared: Path, n: int = 3, chars: int = 800) -> list[str]:
    """``n`` distinct pieces of real Japanese text of ``chars`` characters (2.4 KB in UTF-8)."""
    text = "".join(ln.strip() for ln in (shared / KOJIKI).read_text(encoding="utf-8").splitlines())
    return [text[i * chars:(i + 1) * chars] for i in range(n)]


def test_gzip_member_that_inflates_to_a_gibibyte_is_one_rejection(shared, tmp_path):
    """A ~1 MB .warc.gz member whose record inflates to 1 GiB: rejected, and the next record read."""
    page = (shared / "law_html/lawegov_2013_sjis/html/bf2a36e69d30a929.html").read_bytes()
    path = tmp_path / "bomb.warc.gz"
    with path.open("wb") as fh:
        fh.write(gzip.compress(Rec("https://law.example.jp/before", page).bytes(), mtime=0))
        fh.write(bomb_member("https://law.example.jp/bomb", 1 << 30))
        fh.write(gzip.compress(Rec("https://law.example.jp/after", page).bytes(), mtime=0))
    assert path.stat().st_size < 2 * MiB
    result = _peak_read(path)
    assert [k["url"] for k in result["kept"]] == ["https://law.example.jp/before", "https://law.example.jp/after"]
    (rej,) = result["rejected"]
    assert (rej["url"], rej["reason"], rej["rule"]) == ("https://law.example.jp/bomb", "too_large", "max_document_bytes")
    assert rej["value"] == 1 << 30 and rej["threshold"] == LIMIT and "max_document_bytes" in rej["detail"]
    assert result["grew"] < BUDGET, f"reading grew the process by {result['grew'] / MiB:.0f} MiB"


def test_http_gzip_body_that_inflates_past_the_limit_is_rejected(shared, tmp_path):
    """A record whose Content-Encoding: gzip body is small but decodes to 256 MiB."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    body = b"".join([z.compress(b"<p>" + b"\0" * MiB) for _ in range(256)] + [z.flush()])
    page = (shared / "law_html/lawegov_2013_sjis/html/bf2a36e69d30a929.html").read_bytes()
    path = tmp_path / "enc.warc.gz"
    path.write_bytes(b"".join(gzip.compress(r.bytes(), mtime=0) for r in (
        Rec("https://a.example.jp/bomb", body, http_extra=(("Content-Encoding", "gzip"),)),
        Rec("https://a.example.jp/ok", page),
    )))
    result = _peak_read(path)
    assert [k["url"] for k in result["kept"]] == ["https://a.example.jp/ok"]
    (rej,) = result["rejected"]
    assert rej["reason"] == "too_large" and rej["value"] == LIMIT + 1 and "decoded body" in rej["detail"]
    assert result["grew"] < BUDGET


@pytest.mark.parametrize("compressed", [True, False], ids=["jsonl.gz", "jsonl"])
def test_one_huge_jsonl_line_is_rejected_and_the_lines_after_it_are_read(shared, tmp_path, compressed):
    texts = _japanese(shared)
    size = (512 if compressed else 48) * MiB
    path = tmp_path / ("dump.jsonl.gz" if compressed else "dump.jsonl")
    with (gzip.open(path, "wb", compresslevel=1) if compressed else path.open("wb")) as fh:
        fh.write(json.dumps({"text": texts[0]}, ensure_ascii=False).encode() + b"\n")
        fh.write(b'{"text": "')
        for _ in range(size // MiB):
            fh.write(b"a" * MiB)
        fh.write(b'"}\n')
        for t in texts[1:]:
            fh.write(json.dumps({"text": t}, ensure_ascii=False).encode() + b"\n")
    result = _peak_read(path, line_limit=LIMIT)
    assert [k["locator"].rsplit("#", 1)[1] for k in result["kept"]] == ["1", "3", "4"]
    (rej,) = result["rejected"]
    assert rej["locator"].endswith("#2") and rej["reason"] == "too_large" and rej["rule"] == "max_line_bytes"
    assert rej["value"] == size + len(b'{"text": ""}\n') and rej["threshold"] == LIMIT
    assert result["grew"] < BUDGET


def _bomb_parquet(path: Path, texts: list[str], bomb: int, dictionary: bool) -> None:
    """Row group 0: text, BOMB, text, text; row group 1: the texts again. Pages of 1 KB, so each
    2.4 KB text has a page of its own."""
    big = pa.array(["a" * bomb], pa.string())
    group0 = pa.concat_arrays([pa.array(texts[:1]), big, pa.array(texts[1:])])
    table = pa.table({"text": pa.concat_arrays([group0, pa.array(texts)])})
    pq.write_table(table, path, row_group_size=len(group0), use_dictionary=dictionary, compression="zstd",
                   write_batch_size=1, data_page_size=1024)


@pytest.mark.parametrize("dictionary", [False, True], ids=["plain", "dictionary"])
def test_parquet_cell_that_decodes_past_the_limit_is_not_decoded(shared, tmp_path, dictionary):
    texts = _japanese(shared)
    path = tmp_path / "bomb.parquet"
    _bomb_parquet(path, texts, 96 * MiB, dictionary)
    assert path.stat().st_size < MiB
    limit = MiB
    result = _peak_read(path, doc_limit=limit)
    kept = [int(k["locator"].rsplit("#", 1)[1]) for k in result["kept"]]
    reasons = {int(r["locator"].rsplit("#", 1)[1]): r["reason"] for r in result["rejected"]}
    if dictionary:  # every row of the group needs the dictionary page that holds the bomb
        assert kept == [4, 5, 6] and reasons == {0: "too_large", 1: "too_large", 2: "too_large", 3: "too_large"}
    else:
        assert kept == [0, 4, 5, 6] and reasons == {1: "too_large", 2: "parquet_rows_unreachable", 3: "parquet_rows_unreachable"}
    bomb = next(r for r in result["rejected"] if r["locator"].endswith("#1"))
    assert bomb["value"] > 96 * MiB and bomb["threshold"] == limit
    assert len(kept) + len(reasons) == 7  # every row accounted for
    assert result["grew"] < 6 * limit + 16 * MiB


def test_parquet_cell_over_the_limit_in_a_small_row_group_is_rejected(shared, tmp_path):
    texts = _japanese(shared)
    path = tmp_path / "cell.parquet"
    pq.write_table(pa.table({"text": [texts[0], "b" * (3 * MiB), texts[1]]}), path)
    rows, rejected, _, _ = read(path, limits=ReadLimits(MiB, MiB))
    assert [r["text"] for r in rows] == texts[:2]
    assert [(r["locator"].rsplit("#", 1)[1], r["reason"], r["value"]) for r in rejected] == [("1", "too_large", float(3 * MiB))]


def test_pdf_whose_content_stream_inflates_past_the_limit_is_rejected(shared, tmp_path):
    (tmp_path / "bomb.pdf").write_bytes(bomb_pdf(512 * MiB))
    (tmp_path / "good.pdf").write_bytes(text_pdf(law_sentences(shared)))
    result = _peak_read(tmp_path)
    assert [k["locator"] for k in result["kept"]] == [f"pdf:{tmp_path.name}/good.pdf"]
    (rej,) = result["rejected"]
    assert rej["locator"] == f"pdf:{tmp_path.name}/bomb.pdf" and rej["reason"] == "too_large" and rej["threshold"] == LIMIT
    assert result["grew"] < BUDGET


@pytest.mark.parametrize("name,source", [
    ("kaisha.xml", "law_xml/full/417AC0000000086_20170401_428AC0000000062.xml"),
    ("meetings.xml", "diet/kokkai_api_meeting_xml/212-plane.xml"),
    ("page.html", "law_html/egov_2025_utf8"),
    ("page.txt", KOJIKI),
    ("doc.pdf", None),
])
def test_whole_file_over_the_limit_is_too_large_with_the_bytes_seen(shared, tmp_path, name, source):
    if source is None:
        data = text_pdf(law_sentences(shared, n=30))
    elif (shared / source).is_dir():
        data = max((p for p in (shared / source).glob("*.html")), key=lambda p: p.stat().st_size).read_bytes()
    else:
        data = (shared / source).read_bytes()
    limit = len(data) // 2
    (tmp_path / name).write_bytes(data)
    rows, rejected, counts, _ = read(tmp_path / name, limits=ReadLimits(limit, limit))
    assert rows == [] and counts.docs_in == 1
    (rej,) = rejected
    assert (rej["reason"], rej["rule"], rej["value"], rej["threshold"]) == ("too_large", "max_document_bytes", float(limit + 1), float(limit))
    assert "[limits] max_document_bytes" in rej["detail"]
    rows, rejected, _, _ = read(tmp_path / name, limits=ReadLimits(len(data), len(data)))
    assert rows and not rejected  # at the limit exactly, it is read
