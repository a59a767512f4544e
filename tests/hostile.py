"""Generate a hostile input corpus and its clean twin, for the fault-injection suite (tests/test_faults.py).

Two trees with the same relative paths, both named ``inputs`` (so recorded paths, and hence
everything but the locators of records whose offsets moved, are the same in both runs):

* ``good/inputs``: real documents from ../shared/data, and for every hostile container (a WARC,
  a JSONL or Parquet file holding good records around a bad one) its *clean twin*: the same good
  records without the bad one, at the same path.
* ``mixed/inputs``: the same good files, the hostile containers in place of their twins, and
  hostile files and paths that have no twin (bombs, lying WARC headers, entity-laden XML, PDFs
  that cannot be read, files named for what they are not, unreadable and looping paths, a page
  that keeps trafilatura busy far past the extraction timeout).

Every file's record count is known from how it was built (or counted from its bytes with a
regular expression, for real data), never from the pipeline's readers: ``documents_in`` must
equal that count. Each :class:`Case` says which rejections its hostile records must become; the
good records inside hostile containers must come out exactly as their twins do in a run of the
good tree alone.
"""

from __future__ import annotations

import gzip
import html
import io
import json
import os
import re
import stat
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.sources.warc_write import HttpCapture, write_warc

from pdf_fixtures import bomb_pdf, image_pdf, law_sentences, text_pdf
from test_readers_filings import raw_zip
from test_warc_integrity import _document_records
from test_xml_entities import LAUGHS, QUADRATIC, _with_doctype
from warc_build import Rec, bomb_member

MiB = 1 << 20
#: ``[limits] max_document_bytes`` and ``max_line_bytes`` of both runs: small, so the bombs can be
#: small enough for CI and still far above it.
LIMIT = 1 * MiB
#: What every bomb inflates to (on disk each is a few hundred KB).
BOMB = 256 * MiB
#: ``[extract] timeout_seconds`` of both runs; the stuck page needs about ten times as long.
TIMEOUT = 4.0
#: ``<div><p>…</p></div>`` blocks of the stuck page: trafilatura is quadratic in them (measured:
#: 5,000 take 2.3 s, 10,000 take 8.9 s, 40,000 take 176 s), 20,000 take about 36 s.
STUCK_BLOCKS = 20_000

SJIS_PAGES = "law_html/lawegov_2013_sjis/html"
KOKKAI_PLANE = "diet/kokkai_api_meeting_xml/212-plane.xml"
KOKKAI_GOOD = "diet/kokkai_api_meeting_xml/1-end.xml"
LAW_ENTITIES = "law_xml/full/405AC0000000088_20180401_429AC0000000004.xml"  # 行政手続法 (2018)
SECRET = "root:x:0:0"  # the first line of /etc/passwd: must never reach any output


@dataclass
class Case:
    """One hostile file or path of the mixed tree.

    ``rejections``: (stage, reason) -> count its hostile records must give (beyond what its twin
    gives in the good run). ``records``: records actually in the file, counted as it was built.
    ``twin``: whether the good tree holds a clean version at the same path. ``differs``: for a
    hostile file that must still be read (internal entities, mislabelled charsets) and whose twin
    is the plain version, the columns its kept rows may differ in from the twin's (the raw bytes'
    hash, the charset evidence): everything else, the text above all, must be equal. ``skipped``:
    for paths the listing must skip, a fragment of the reason the manifest must give.
    """

    kind: str
    path: str
    rejections: Counter = field(default_factory=Counter)
    records: int = 0
    twin: bool = False
    skipped: str | None = None
    differs: frozenset[str] = frozenset()


@dataclass
class Corpus:
    good: Path
    mixed: Path
    cases: list[Case]
    good_records: int  # records in the good tree (its files, twins included)
    mixed_records: int  # records in the mixed tree


def _reject(*pairs: tuple[str, str]) -> Counter:
    return Counter(pairs)


class _Pages:
    """Distinct real pages, each handed out once (so no two documents are exact duplicates)."""

    def __init__(self, shared: Path):
        files = sorted((shared / SJIS_PAGES).glob("*.html"))
        self._small = iter([f.read_bytes() for f in files if 4_000 < f.stat().st_size <= 20_000])
        self._large = iter([f.read_bytes() for f in files if 20_000 < f.stat().st_size < 60_000])

    def sjis(self) -> bytes:
        return next(self._small)

    def sjis_long(self) -> bytes:
        """A page with text enough for every quality rule (for cases that must be kept)."""
        return next(self._large)


def _chabsa_docs(shared: Path) -> list[tuple[str, str]]:
    """(title, body) of every chABSA filing: real securities-report text."""
    out = []
    for f in sorted((shared / "finance/chabsa").glob("*.json")):
        doc = json.loads(f.read_text(encoding="utf-8"))
        head = doc["header"]
        out.append((f"{head['document_name']} {head['doc_text']}", "。\n".join(s["sentence"] for s in doc["sentences"]) + "。"))
    return out


def _chabsa_page(title: str, body: str) -> bytes:
    paras = "".join(f"<p>{html.escape(line)}</p>\n" for line in body.splitlines())
    t = html.escape(title)
    return (f'<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>{t}</title></head>'
            f"<body><main><h1>{t}</h1>\n{paras}</main></body></html>").encode("utf-8")


def _sjis_rec(url: str, body: bytes, **kw) -> Rec:
    return Rec(url, body, content_type="text/html; charset=shift_jis", **kw)


def _warc_captures(caps: list[HttpCapture], tmp: Path) -> bytes:
    path = write_warc(tmp, caps)
    data = path.read_bytes()
    path.unlink()
    return data


def _meetings(data: bytes) -> int:
    """Meetings in a 国会会議録 API response (one document each)."""
    return data.count(b"<meetingRecord>")


XXE = '<!ENTITY house SYSTEM "file:///etc/passwd">'
PARAMETER = '<!ENTITY % ext SYSTEM "file:///etc/passwd"> %ext;'


def _jsonl(texts: list[str]) -> bytes:
    return b"".join(json.dumps({"text": t}, ensure_ascii=False).encode("utf-8") + b"\n" for t in texts)


def _gzip_stream_bomb_line(first: str, last: str) -> bytes:
    """.jsonl.gz: a good line, one line of BOMB bytes (compressed while streaming), a good line."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [z.compress(_jsonl([first]) + b'{"text": "')]
    chunk = b"a" * MiB
    out += [z.compress(chunk) for _ in range(BOMB // MiB)]
    out.append(z.compress(b'"}\n' + _jsonl([last])))
    out.append(z.flush())
    return b"".join(out)


def _parquet(table: pa.Table, **kw) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, **kw)
    return buf.getvalue()


def _unchecked_strings(values: list[bytes]) -> pa.Table:
    """A ``text`` string column holding these bytes as they are (Arrow checks no UTF-8 here)."""
    offsets = [0]
    for v in values:
        offsets.append(offsets[-1] + len(v))
    array = pa.Array.from_buffers(pa.string(), len(values), [None, pa.array(offsets, pa.int32()).buffers()[1], pa.py_buffer(b"".join(values))])
    return pa.table({"text": array})


def _encoding_bomb_body() -> bytes:
    """An HTTP body with ``Content-Encoding: gzip`` that decodes to BOMB bytes."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    return b"".join([z.compress(b"<p>")] + [z.compress(b"\0" * MiB) for _ in range(BOMB // MiB)] + [z.flush()])


def _corrupt_member(rec: Rec) -> bytes:
    """A gzip member whose deflate data is damaged in the middle (its CRC cannot match)."""
    member = bytearray(gzip.compress(rec.bytes(), mtime=0))
    mid = len(member) // 2
    member[mid:mid + 64] = bytes(b ^ 0x5A for b in member[mid:mid + 64])
    return bytes(member)


class _Writer:
    """Writes files into both trees and records the cases and counts."""

    def __init__(self, root: Path):
        self.good = root / "good" / "inputs"
        self.mixed = root / "mixed" / "inputs"
        self.scratch = root / "scratch"
        for d in (self.good, self.mixed, self.scratch):
            d.mkdir(parents=True)
        self.cases: list[Case] = []
        self.good_records = 0
        self.mixed_records = 0

    def good_file(self, rel: str, data: bytes, records: int) -> None:
        """A good file: the same bytes in both trees."""
        for tree in (self.good, self.mixed):
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            (tree / rel).write_bytes(data)
        self.good_records += records
        self.mixed_records += records

    def hostile(self, case: Case, data: bytes, twin: bytes | None = None, twin_records: int = 0) -> None:
        """A hostile file in the mixed tree (and its clean twin, if any, in the good tree)."""
        (self.mixed / case.path).parent.mkdir(parents=True, exist_ok=True)
        (self.mixed / case.path).write_bytes(data)
        if twin is not None:
            (self.good / case.path).parent.mkdir(parents=True, exist_ok=True)
            (self.good / case.path).write_bytes(twin)
            case.twin = True
            self.good_records += twin_records
        self.mixed_records += case.records
        self.cases.append(case)

    def path_case(self, case: Case) -> None:
        """A path the listing must skip (already made in the mixed tree)."""
        self.cases.append(case)


def build(shared: Path, root: Path, unreadable: bool = True) -> Corpus:
    """Write both trees under ``root``. ``unreadable``: also make an unreadable file and directory
    (the caller runs the pipeline where permissions hold, see tests/test_faults.py)."""
    w = _Writer(root)
    pages = _Pages(shared)
    chabsa = _chabsa_docs(shared)
    _good_files(w, shared, pages, chabsa)
    _warc_cases(w, shared, pages)
    _line_and_table_cases(w, shared, chabsa)
    _xml_cases(w, shared)
    _file_cases(w, shared, pages)
    _package_cases(w, shared)
    _path_cases(w, unreadable)
    return Corpus(w.good.parent, w.mixed.parent, w.cases, w.good_records, w.mixed_records)


def _good_files(w: _Writer, shared: Path, pages: _Pages, chabsa: list[tuple[str, str]]) -> None:
    for i in range(3):
        w.good_file(f"good/law-{i}.html", pages.sjis(), 1)
    w.good_file("good/名前に\n改行 と空白.html", pages.sjis(), 1)  # a legal, if unkind, file name
    for i, (title, body) in enumerate(chabsa[:4]):
        w.good_file(f"good/chabsa-{i}.html", _chabsa_page(title, body), 1)
    gov = sorted((shared / "gov_html/digital_agency_note_2021").glob("n_*.html"))
    w.good_file("good/note.warc.gz", _warc_captures(
        [HttpCapture(f"https://note.digital.go.jp/n/{p.stem}", "2021-08-25T00:00:00Z", p.read_bytes(), "text/html; charset=utf-8") for p in gov[:2]],
        w.scratch / "note.warc.gz"), 2)
    cc = (shared / "warc/commoncrawl_whirlwind/whirlwind.warc.gz").read_bytes()
    w.good_file("good/whirlwind.warc.gz", cc, _document_records(cc))
    w.good_file("good/kojiki.txt", (shared / "wiki/aozora_kojiki_encodings/03gendaigoyaku_kojiki.txt.utf8").read_bytes(), 1)
    law = sorted((shared / "law_xml/revisions/505AC0000000032").glob("*.xml"))[-1].read_bytes()
    w.good_file("good/gx-law.xml", law, 1)
    kokkai = (shared / KOKKAI_GOOD).read_bytes()
    w.good_file("good/kokkai-1.xml", kokkai, _meetings(kokkai))
    w.good_file("good/law.pdf", text_pdf(law_sentences(shared, n=12)), 1)
    texts = [body for _, body in chabsa[4:9]]
    w.good_file("good/dump.jsonl", _jsonl(texts), len(texts))
    rows = [body for _, body in chabsa[9:13]]
    w.good_file("good/table.parquet", _parquet(pa.table({"text": rows})), len(rows))
    w.good_file("good/chabsa-filing.json", sorted((shared / "finance/chabsa").glob("*.json"))[200].read_bytes(), 1)


def _warc_cases(w: _Writer, shared: Path, pages: _Pages) -> None:
    def good(name: str) -> Rec:
        return _sjis_rec(f"https://law.example.jp/{name}", pages.sjis())

    def case(path: str, kind: str, records: list[Rec | bytes], bad: set[int], reasons: Counter, gz: bool = True) -> None:
        """``records``: Recs (or ready-made gzip members); those at ``bad`` indexes are left out of the twin."""
        chunk = [r if isinstance(r, bytes) else (gzip.compress(r.bytes(), mtime=0) if gz else r.bytes()) for r in records]
        twin = [c for i, c in enumerate(chunk) if i not in bad]
        w.hostile(Case(kind, path, reasons, records=len(records)), b"".join(chunk), b"".join(twin), len(twin))

    a, b = good("bomb-before"), good("bomb-after")
    case("warc/member-bomb.warc.gz", "gzip member inflating to 256 MiB", [a, bomb_member("https://law.example.jp/bomb", BOMB), b],
         {1}, _reject(("read", "too_large")))
    enc = Rec("https://law.example.jp/encoded-bomb", _encoding_bomb_body(), http_extra=(("Content-Encoding", "gzip"),))
    case("warc/encoding-bomb.warc.gz", "HTTP Content-Encoding: gzip body decoding to 256 MiB", [good("enc-before"), enc, good("enc-after")],
         {1}, _reject(("read", "too_large")))
    pdf = Rec("https://law.example.jp/bomb.pdf", bomb_pdf(BOMB), content_type="application/pdf")
    case("warc/pdf-bomb.warc.gz", "crawled PDF whose content stream inflates to 256 MiB", [good("pdf-before"), pdf],
         {1}, _reject(("extract", "too_large")))
    case("warc/lengths.warc", "Content-Length too large (swallows the next record) and too small (truncates)",
         [good("len-0"), replace(good("too-long"), length_delta=700), good("len-2"), replace(good("too-short"), length_delta=-300), good("len-4")],
         {1, 3}, _reject(("read", "warc_bad_length"), ("read", "warc_bad_length")), gz=False)
    case("warc/past-end.warc.gz", "Content-Length 10 MiB past the end of the file",
         [good("past-0"), _sjis_rec("https://law.example.jp/past", pages.sjis(), length_delta=10 * MiB), good("past-2")],
         {1}, _reject(("read", "warc_bad_length")))
    case("warc/digests.warc.gz", "WARC-Block-Digest and WARC-Payload-Digest that do not match",
         [good("dig-0"), _sjis_rec("https://law.example.jp/bad-block", pages.sjis(), bad_digest="block"),
          _sjis_rec("https://law.example.jp/bad-payload", pages.sjis(), bad_digest="payload", algo="sha256", form="base16"), good("dig-3")],
         {1, 2}, _reject(("read", "warc_digest_mismatch"), ("read", "warc_digest_mismatch")))
    corrupt = _corrupt_member(good("corrupt"))
    case("warc/corrupt-member.warc.gz", "gzip member with damaged deflate data", [good("cor-0"), corrupt, good("cor-2")],
         {1}, _reject(("read", "warc_corrupt_record")))
    status = gzip.compress(Rec("https://law.example.jp/missing", b"<html><body>Not Found</body></html>", status="404 Not Found").bytes(), mtime=0)
    case("warc/status.warc.gz", "a 404 response kept by the crawler", [good("st-0"), status],
         {1}, _reject(("read", "http_status")))
    huge = Rec("https://law.example.jp/huge-header", pages.sjis(), http_extra=(("X-Padding", "a" * (2 * MiB)),))
    case("warc/huge-header.warc.gz", "a 2 MiB HTTP header line", [good("hh-0"), huge, good("hh-2")], {1}, _reject(("read", "warc_unreadable")))
    stuck = ("<html><head><title>stuck</title></head><body>" + "<div><p>あいう</p></div>" * STUCK_BLOCKS + "</body></html>").encode()
    case("warc/stuck.warc.gz", f"a page trafilatura needs ~36 s for (timeout {TIMEOUT:g} s), records after it in the same WARC",
         [good("stuck-0"), Rec("https://law.example.jp/stuck", stuck), good("stuck-2"), good("stuck-3")],
         {1}, _reject(("extract", "extraction_timeout")))
    png = Rec("https://law.example.jp/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, content_type="image/png")
    case("warc/image.warc.gz", "an image response", [good("img-0"), png], {1}, _reject(("extract", "unsupported_content_type")))
    bin_html = Rec("https://law.example.jp/fake.html", (shared / "finance/cpa_audit/CPA_AUDIT.xlsx").read_bytes(), content_type="text/html")
    case("warc/binary.warc.gz", "an Excel file served as text/html", [good("bin-0"), bin_html], {1}, _reject(("extract", "binary_content")))

    # records cut off by the end of the file, and garbage between records: no twin record for the damaged part
    t0, t1 = good("trunc-0"), good("trunc-1")
    m1 = gzip.compress(t1.bytes(), mtime=0)
    w.hostile(Case("file cut inside the second record's gzip member", "warc/truncated.warc.gz", _reject(("read", "warc_truncated_record")), records=2),
              gzip.compress(t0.bytes(), mtime=0) + m1[: len(m1) // 2], gzip.compress(t0.bytes(), mtime=0), 1)
    g = [good(f"garbage-{i}") for i in range(3)]
    members = [gzip.compress(r.bytes(), mtime=0) for r in g]
    junk = b"\x00garbage that is not a record\r\n" * 40
    w.hostile(Case("garbage between two records", "warc/garbage.warc.gz", _reject(("read", "warc_unreadable")), records=len(g) + 1),
              members[0] + junk + members[1] + members[2], b"".join(members), len(g))

    # API responses stored by `corpus fetch`: XML payloads with entities
    law = (shared / LAW_ENTITIES).read_bytes()
    kokkai = (shared / KOKKAI_PLANE).read_bytes()
    caps = [HttpCapture("https://law.example.jp/api-page", "2024-05-01T00:00:00Z", pages.sjis(), "text/html; charset=shift_jis")]
    bad = [
        HttpCapture("https://laws.e-gov.go.jp/api/2/law_data/xxe", "2024-05-01T00:00:00Z",
                    _with_doctype(law, "Law", XXE, "行政手続法", "&house;"), "application/xml"),
        HttpCapture("https://kokkai.ndl.go.jp/api/meeting?laughs", "2024-05-01T00:00:00Z",
                    _with_doctype(kokkai, "data", LAUGHS, "参議院", "&lol9;"), "application/xml"),
    ]
    w.hostile(Case("XXE and billion laughs in API responses inside a WARC", "warc/api.warc.gz",
                   _reject(("read", "xml_external_entity"), ("read", "xml_entity_expansion")), records=3),
              _warc_captures(caps + bad, w.scratch / "api.warc.gz"), _warc_captures(caps, w.scratch / "api-twin.warc.gz"), 1)


def _line_and_table_cases(w: _Writer, shared: Path, chabsa: list[tuple[str, str]]) -> None:
    docs = iter(body for _, body in chabsa[13:])
    first, last = next(docs), next(docs)
    w.hostile(Case("one .jsonl.gz line inflating to 256 MiB", "jsonl/line-bomb.jsonl.gz", _reject(("read", "too_large")), records=3),
              _gzip_stream_bomb_line(first, last), gzip.compress(_jsonl([first, last]), mtime=0), 2)
    a, b = next(docs), next(docs)
    long_line = json.dumps({"text": "金融" * (LIMIT // 3)}, ensure_ascii=False).encode() + b"\n"
    w.hostile(Case("a 2 MiB line in a .jsonl (over max_line_bytes)", "jsonl/long-line.jsonl", _reject(("read", "too_large")), records=3),
              _jsonl([a]) + long_line + _jsonl([b]), _jsonl([a, b]), 2)
    c, d = next(docs), next(docs)
    bad_lines = [b"this is not json\n", b'{"text": "\xff\xfe not utf-8"}\n', b'{"body": "no text field"}\n',
                 b"[" * 100_000 + b"]" * 100_000 + b"\n", b'{"text": 12345}\n']
    w.hostile(Case("JSONL lines that are not JSON, not UTF-8, too deep, or lack the text field", "jsonl/bad-lines.jsonl",
                   _reject(("read", "jsonl_bad_line"), ("read", "jsonl_bad_line"), ("read", "jsonl_bad_line"),
                           ("read", "missing_text_column"), ("read", "missing_text_column")), records=2 + len(bad_lines)),
              _jsonl([c]) + b"".join(bad_lines) + _jsonl([d]), _jsonl([c, d]), 2)
    e, f = next(docs), next(docs)
    surrogates = [b'{"text": "lone \\ud800 surrogate"}\n', b'{"text": "fine text", "url": "https://x.example.jp/\\udfff"}\n']
    w.hostile(Case("JSON escapes that decode to lone surrogates (valid JSON, not Unicode)", "jsonl/surrogates.jsonl",
                   _reject(("read", "reader_error"), ("read", "reader_error")), records=4),
              _jsonl([e]) + b"".join(surrogates) + _jsonl([f]), _jsonl([e, f]), 2)
    lines = [next(docs) for _ in range(5)]
    cut = gzip.compress(_jsonl(lines), mtime=0)
    cut = cut[: len(cut) // 2]
    whole_lines = zlib.decompressobj(31).decompress(cut).count(b"\n")  # lines that survive the cut
    w.hostile(Case(".jsonl.gz whose gzip stream is cut off", "jsonl/cut.jsonl.gz", _reject(("read", "unreadable_file")), records=whole_lines + 1),
              cut, gzip.compress(_jsonl(lines[:whole_lines]), mtime=0), whole_lines)
    w.hostile(Case("empty .jsonl", "jsonl/empty.jsonl", Counter(), records=0), b"")

    # Parquet: row group 0 = [p0, BOMB, p1, p2], row group 1 = [p3, p4]; pages of 1 KB
    p = [next(docs) for _ in range(5)]
    group0 = pa.concat_arrays([pa.array(p[:1]), pa.array(["a" * (BOMB // 2)], pa.string()), pa.array(p[1:3])])
    table = pa.table({"text": pa.concat_arrays([group0, pa.array(p[3:])])})
    bomb = _parquet(table, row_group_size=4, use_dictionary=False, compression="zstd", write_batch_size=1, data_page_size=1024)
    w.hostile(Case("Parquet text cell decoding to 128 MiB", "parquet/cell-bomb.parquet",
                   _reject(("read", "too_large"), ("read", "parquet_rows_unreachable"), ("read", "parquet_rows_unreachable")), records=6),
              bomb, _parquet(pa.table({"text": [p[0], p[3], p[4]]})), 3)
    g, h = next(docs), next(docs)
    w.hostile(Case("Parquet rows with a null text", "parquet/null-text.parquet", _reject(("read", "missing_text_column")), records=3),
              _parquet(pa.table({"text": [g, None, h]})), _parquet(pa.table({"text": [g, h]})), 2)
    g, h = next(docs), next(docs)
    w.hostile(Case("Parquet string cell that is not UTF-8", "parquet/not-utf8.parquet", _reject(("read", "undecodable")), records=3),
              _parquet(_unchecked_strings([g.encode(), "途中で".encode("cp932"), h.encode()])), _parquet(pa.table({"text": [g, h]})), 2)
    w.hostile(Case("Parquet file without the text column", "parquet/no-column.parquet", _reject(("read", "missing_text_column")), records=1),
              _parquet(pa.table({"body": [next(docs)]})))
    w.hostile(Case("bytes named .parquet that are not Parquet", "parquet/not-parquet.parquet", _reject(("read", "unreadable_file")), records=1),
              b"PAR1" + b"\x00" * 100 + b"PAR1")
    w.hostile(Case("empty .parquet", "parquet/empty.parquet", _reject(("read", "unreadable_file")), records=1), b"")


def _xml_cases(w: _Writer, shared: Path) -> None:
    law = (shared / LAW_ENTITIES).read_bytes()
    kokkai = (shared / KOKKAI_PLANE).read_bytes()
    meetings = _meetings(kokkai)

    read_anyway = frozenset({"raw_sha256"})
    w.hostile(Case("law XML with an internal entity (ordinary XML: read as the text it stands for)", "xml/law-internal.xml",
                   records=1, differs=read_anyway),
              _with_doctype(law, "Law", '<!ENTITY house "行政手続法">', "行政手続法", "&house;"), law, 1)
    for name, subset, ref, reason in (
        ("xxe", XXE, "&house;", "xml_external_entity"),
        ("parameter", PARAMETER, None, "xml_external_entity"),
        ("laughs", LAUGHS, "&lol9;", "xml_entity_expansion"),
        ("quadratic", QUADRATIC, "&a;" * 2000, "xml_entity_expansion"),
    ):
        w.hostile(Case(f"law XML: {name}", f"xml/law-{name}.xml", _reject(("read", reason)), records=1),
                  _with_doctype(law, "Law", subset, "行政手続法", ref or "行政手続法"))
    w.hostile(Case("Diet XML with an internal entity", "xml/kokkai-internal.xml", records=meetings, differs=read_anyway),
              _with_doctype(kokkai, "data", '<!ENTITY house "参議院">', "参議院", "&house;"), kokkai, meetings)
    for name, subset, ref, reason in (("xxe", XXE, "&house;", "xml_external_entity"), ("laughs", LAUGHS, "&lol9;", "xml_entity_expansion")):
        w.hostile(Case(f"Diet XML: {name}", f"xml/kokkai-{name}.xml", _reject(("read", reason)), records=1),
                  _with_doctype(kokkai, "data", subset, "参議院", ref))
    w.hostile(Case("law XML nested 50,000 deep", "xml/deep.xml", _reject(("read", "xml_parse_error")), records=1),
              ("<Law><LawBody>" + "<Part>" * 50_000 + "x" + "</Part>" * 50_000 + "</LawBody></Law>").encode())
    w.hostile(Case("law XML cut in the middle", "xml/cut.xml", _reject(("read", "xml_parse_error")), records=1), law[: len(law) // 2])


def _file_cases(w: _Writer, shared: Path, pages: _Pages) -> None:
    from io import BytesIO

    from pypdf import PdfReader, PdfWriter

    good_pdf = text_pdf(law_sentences(shared, n=9)[3:])
    w.hostile(Case("PDF content stream inflating to 256 MiB", "pdf/bomb.pdf", _reject(("read", "too_large")), records=1), bomb_pdf(BOMB))
    writer = PdfWriter(clone_from=PdfReader(BytesIO(good_pdf)))
    writer.encrypt("secret", algorithm="AES-128")
    locked = BytesIO()
    writer.write(locked)
    w.hostile(Case("encrypted PDF", "pdf/locked.pdf", _reject(("read", "pdf_encrypted")), records=1), locked.getvalue())
    w.hostile(Case("PDF cut in half", "pdf/cut.pdf", _reject(("read", "pdf_unreadable")), records=1), good_pdf[: len(good_pdf) // 2])
    w.hostile(Case("scanned PDF without a text layer", "pdf/scan.pdf", _reject(("read", "pdf_no_text_layer")), records=1), image_pdf(shared))
    w.hostile(Case("empty .pdf", "pdf/empty.pdf", _reject(("read", "pdf_unreadable")), records=1), b"")

    xlsx = (shared / "finance/cpa_audit/CPA_AUDIT.xlsx").read_bytes()
    w.hostile(Case("an Excel file named .html", "html/binary.html", _reject(("extract", "binary_content")), records=1), xlsx)
    w.hostile(Case("empty .html", "html/empty.html", _reject(("extract", "empty_input")), records=1), b"")
    w.hostile(Case("empty .txt", "html/empty.txt", _reject(("extract", "empty_input")), records=1), b"")
    w.hostile(Case("empty .warc.gz", "warc/empty.warc.gz", Counter(), records=0), b"")
    big = pages.sjis()
    w.hostile(Case("a 2 MiB page (over max_document_bytes)", "html/big.html", _reject(("read", "too_large")), records=1),
              big.replace(b"</BODY>", big * (2 * LIMIT // len(big) + 1) + b"</BODY>"))

    # mislabelled charsets: the twin is the same page correctly labelled; the text must be the same
    decoded = frozenset({"raw_sha256", "charset", "charset_evidence"})
    sjis = pages.sjis_long()
    w.hostile(Case("Shift_JIS page whose meta says UTF-8", "html/mislabelled.html", records=1, differs=decoded),
              re.sub(rb"charset=[A-Za-z_-]+", b"charset=utf-8", sjis, count=1, flags=re.I), sjis, 1)
    page = pages.sjis_long()
    euc = re.sub(rb"<META[^>]*charset[^>]*>", b"", page, flags=re.I).decode("cp932").encode("euc_jp")
    w.hostile(Case("EUC-JP page without any charset declaration", "html/undeclared-eucjp.html", records=1, differs=decoded), euc, page, 1)
    w.hostile(Case("a page nested 60,000 <div>s deep", "html/deep.html", _reject(("extract", "no_main_text")), records=1),
              ("<html><body>" + "<div>" * 60_000 + "本文" + "</div>" * 60_000 + "</body></html>").encode())
    w.hostile(Case("a file of an unknown type", "html/data.bin", skipped="no reader"), b"\x00\x01")
    w.hostile(Case("a file name with '#'", "html/a#b.html", skipped="contains '#'"), sjis)


def _package_cases(w: _Writer, shared: Path) -> None:
    """ZIP (EDINET filing packages) and chABSA JSON files."""
    zeros = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate, as in a ZIP
    deflated = b"".join([zeros.compress(b"\0" * MiB) for _ in range(BOMB // MiB)] + [zeros.flush()])
    crc = 0
    for _ in range(BOMB // MiB):
        crc = zlib.crc32(b"\0" * MiB, crc)
    member = "XBRL/PublicDoc/0000000_header_bomb_ixbrl.htm"
    w.hostile(Case("EDINET filing ZIP whose member inflates to 256 MiB", "zip/S100BOMB.zip", _reject(("read", "too_large")), records=1),
              raw_zip(member, deflated, BOMB, crc))
    w.hostile(Case("ZIP member declaring 1 KB that inflates to 256 MiB", "zip/S100LIES.zip", _reject(("read", "zip_unreadable")), records=1),
              raw_zip(member, deflated, 1024, crc))
    w.hostile(Case("bytes named .zip that are not a ZIP", "zip/S100JUNK.zip", _reject(("read", "zip_unreadable")), records=1),
              b"PK\x03\x04" + b"junk" * 100)
    filing = json.loads(sorted((shared / "finance/chabsa").glob("*.json"))[201].read_text(encoding="utf-8"))
    data = json.dumps(filing, ensure_ascii=False).encode("utf-8")
    w.hostile(Case("chABSA JSON cut in the middle", "json/cut.json", _reject(("read", "json_parse_error")), records=1), data[: len(data) // 2])
    filing["sentences"][0]["sentence"] += "\ud83d"  # half of a surrogate pair, as a JSON escape
    w.hostile(Case("chABSA JSON whose sentence escapes decode to a lone surrogate", "json/surrogate.json",
                   _reject(("read", "reader_error")), records=1), json.dumps(filing, ensure_ascii=True).encode("ascii"))


def _path_cases(w: _Writer, unreadable: bool) -> None:
    paths = w.mixed / "paths"
    paths.mkdir()
    os.symlink("..", paths / "loop")
    w.path_case(Case("a directory symlink to its ancestor (a loop)", "paths/loop", skipped="symlink loop"))
    os.symlink("self", paths / "self")
    w.path_case(Case("a symlink to itself", "paths/self", skipped="symlink loop"))
    os.symlink("nowhere.html", paths / "dangling.html")
    w.path_case(Case("a dangling symlink", "paths/dangling.html", skipped="dangling symlink"))
    with open(os.fsencode(paths) + b"/\xff\xfe.html", "wb") as fh:  # a Latin-1 or Shift_JIS name on a UTF-8 system
        fh.write(b"<html><body>x</body></html>")
    w.path_case(Case("a file name that is not UTF-8", "paths/\\xff\\xfe.html", skipped="not valid UTF-8"))
    os.mkfifo(paths / "fifo.html")
    w.path_case(Case("a FIFO named .html (reading it would block forever)", "paths/fifo.html", skipped="not a regular file"))
    if unreadable:
        (paths / "unreadable.html").write_bytes(b"<html><body>secret</body></html>")
        os.chmod(paths / "unreadable.html", 0)
        w.path_case(Case("a file without read permission", "paths/unreadable.html", skipped="unreadable file"))
        (paths / "locked").mkdir()
        (paths / "locked" / "inside.html").write_bytes(b"<html><body>secret</body></html>")
        os.chmod(paths / "locked", 0)
        w.path_case(Case("a directory without read permission", "paths/locked", skipped="unreadable directory"))


def restore_permissions(root: Path) -> None:
    """Give back the permissions :func:`build` took away (so the trees can be deleted)."""
    for p in (root / "mixed/inputs/paths/unreadable.html", root / "mixed/inputs/paths/locked"):
        if p.exists() and not p.is_symlink():
            os.chmod(p, stat.S_IRWXU)
