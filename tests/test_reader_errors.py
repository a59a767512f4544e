"""No exception escapes a document: a reader failing on one record or file is that record's
rejection (``reader_error`` with the exception class and message) and reading goes on; empty and
malformed files of every kind are named rejections, never crashes."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.io.bounded import ReadLimits
from corpus.sources import registry
from corpus.sources.inputs import InputRange
from corpus.sources.readers.html import HtmlReader
from corpus.sources.rows import Item, Origin

from readers_util import read


class _FailsAfterOne(HtmlReader):
    """Yields a document, then fails inside the same payload (a reader bug on hostile bytes)."""

    kind = "test_fails_after_one"
    suffixes = (".boom",)

    def documents(self, data: bytes, origin: Origin, limits: ReadLimits) -> Iterator[Item]:
        yield from super().documents(data, origin, limits)
        raise KeyError("something the reader did not expect")


class _ReadFails(HtmlReader):
    """A reader whose record loop itself fails part-way through a range."""

    kind = "test_read_fails"
    suffixes = (".crash",)

    def read(self, rng: InputRange, limits: ReadLimits) -> Iterator[Item]:
        yield from super().read(rng, limits)
        raise OSError("connection reset while reading")


def test_a_reader_failing_on_a_payload_costs_one_rejection(shared, tmp_path, monkeypatch):
    monkeypatch.setitem(registry._REGISTRY, _FailsAfterOne.kind, _FailsAfterOne())
    monkeypatch.setitem(registry._REGISTRY, _ReadFails.kind, _ReadFails())
    page = (shared / "law_html/lawegov_2013_sjis/html/bf2a36e69d30a929.html").read_bytes()
    for name in ("a.boom", "b.crash", "c.html"):
        (tmp_path / name).write_bytes(page)
    rows, rejected, counts, _ = read(tmp_path)
    assert [r["locator"] for r in rows] == [f"file:{tmp_path.name}/{n}" for n in ("a.boom", "b.crash", "c.html")]
    assert [(r["locator"], r["reason"]) for r in rejected] == [
        (f"file:{tmp_path.name}/a.boom", "reader_error"), (f"file:{tmp_path.name}/b.crash", "reader_error")]
    assert rejected[0]["detail"].startswith("KeyError: ")
    assert rejected[1]["detail"].startswith("OSError: connection reset") and "the rest of this range is lost" in rejected[1]["detail"]
    assert counts.docs_in == 5 and len({r["doc_id"] for r in rows + rejected}) == 5


def test_pathological_json_and_xml_are_rejections(tmp_path):
    (tmp_path / "deep.jsonl").write_text("[" * 200_000 + "]" * 200_000 + "\n" + '{"text": "後の行は読める"}\n', encoding="utf-8")
    rows, rejected, _, _ = read(tmp_path / "deep.jsonl")
    assert [r["text"] for r in rows] == ["後の行は読める"] and [r["reason"] for r in rejected] == ["jsonl_bad_line"]
    for depth, reason, words in ((100_000, "xml_parse_error", "Excessive depth"), (2_000, "reader_error", "RecursionError")):
        (tmp_path / "deep.xml").write_text("<Law><LawBody>" + "<Part>" * depth + "x" + "</Part>" * depth + "</LawBody></Law>", encoding="utf-8")
        rows, rejected, _, _ = read(tmp_path / "deep.xml")
        assert rows == [] and [r["reason"] for r in rejected] == [reason] and words in rejected[0]["detail"]


EMPTY = {  # suffix -> reasons an empty file of that kind gives
    ".html": [], ".txt": [], ".warc": [], ".warc.gz": [], ".arc": [], ".jsonl": [], ".jsonl.gz": [],
    ".parquet": ["unreadable_file"], ".xml": ["xml_parse_error"], ".pdf": ["pdf_unreadable"],
}


@pytest.mark.parametrize("suffix", sorted(EMPTY))
def test_empty_files_of_every_kind(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    rows, rejected, counts, _ = read(path)
    assert [r["reason"] for r in rejected] == EMPTY[suffix]
    # HTML and text hand the empty bytes on: the extract stage rejects them as empty_input
    assert len(rows) == (1 if suffix in (".html", ".txt") else 0)


def test_binary_named_html_and_bad_parquet(shared, tmp_path):
    (tmp_path / "image.html").write_bytes((shared / "warc/warcio_fixtures/example.warc.gz").read_bytes())
    (tmp_path / "bad.parquet").write_bytes(b"PAR1" + b"\x00" * 100 + b"PAR1")
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"text": ["金融庁は銀行を監督する。"]}), good)
    rows, rejected, _, _ = read(tmp_path)
    assert [r["locator"] for r in rows] == [f"parquet:{tmp_path.name}/good.parquet#0", f"file:{tmp_path.name}/image.html"]
    assert [(r["locator"], r["reason"]) for r in rejected] == [(f"parquet:{tmp_path.name}/bad.parquet", "unreadable_file")]


def test_encrypted_and_corrupt_pdfs_are_named_rejections(shared, tmp_path):
    from io import BytesIO

    from pypdf import PdfReader, PdfWriter

    from pdf_fixtures import law_sentences, text_pdf

    good = text_pdf(law_sentences(shared))
    writer = PdfWriter(clone_from=PdfReader(BytesIO(good)))
    writer.encrypt("secret", algorithm="AES-128")
    locked = BytesIO()
    writer.write(locked)
    (tmp_path / "a_locked.pdf").write_bytes(locked.getvalue())
    (tmp_path / "b_cut.pdf").write_bytes(good[: len(good) // 2])
    (tmp_path / "c_good.pdf").write_bytes(good)
    rows, rejected, _, _ = read(tmp_path)
    assert [r["locator"] for r in rows] == [f"pdf:{tmp_path.name}/c_good.pdf"]
    assert [(r["input_path"].rsplit("/", 1)[1], r["reason"]) for r in rejected] == [("a_locked.pdf", "pdf_encrypted"), ("b_cut.pdf", "pdf_unreadable")]


def test_a_30_mb_page_is_read_under_the_default_limit_and_refused_under_a_smaller_one(shared, tmp_path):
    page = (shared / "law_html/lawegov_2013_sjis/html/bf2a36e69d30a929.html").read_bytes()
    big = page.replace(b"</BODY>", page * (30_000_000 // len(page)) + b"</BODY>")
    (tmp_path / "big.html").write_bytes(big)
    rows, rejected, _, _ = read(tmp_path / "big.html")
    assert not rejected and rows[0]["raw"] == big
    rows, rejected, _, _ = read(tmp_path / "big.html", limits=ReadLimits(16 << 20, 16 << 20))
    assert not rows and [(r["reason"], r["value"]) for r in rejected] == [("too_large", float((16 << 20) + 1))]
