"""WARC payload dispatch: an API response stored in a WARC (as ``corpus fetch`` and crawls store
them) is read by the reader of its format, located by its record, and reopens to the exact bytes
behind its ``raw_sha256``."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

from corpus.document import sha256_hex
from corpus.io.bounded import ReadLimits
from corpus.sources import registry
from corpus.sources.registry import Reader
from corpus.sources.rows import Item, Origin
from corpus.sources.warc_write import HttpCapture, write_warc

from readers_util import read, reopen

MEETINGS = "diet/kokkai_api_meeting_xml/212-plane.xml"
KAISHA = "law_xml/full/417AC0000000086_20170401_428AC0000000062.xml"
DATE = "2024-05-01T00:00:00Z"


def _record(item: dict) -> str:
    return item["locator"].split("#", 1)[1].split("/")[0]


def test_api_responses_in_a_warc_read_like_their_files(shared, tmp_path):
    kokkai = (shared / MEETINGS).read_bytes()
    law = (shared / KAISHA).read_bytes()
    page = (shared / "law_html/lawegov_2013_sjis/html/bf2a36e69d30a929.html").read_bytes()
    rss = b'<?xml version="1.0"?><rss version="2.0"><channel><title>news</title></channel></rss>'
    error = '<?xml version="1.0" encoding="UTF-8"?><data><message>検索条件の入力に誤りがあります。</message></data>'.encode()
    caps = [
        HttpCapture("https://kokkai.ndl.go.jp/api/meeting?from=2023-11-01&until=2023-12-31", DATE, kokkai, "application/xml; charset=UTF-8"),
        HttpCapture("https://laws.e-gov.go.jp/api/2/law_data/417AC0000000086", DATE, law, "text/xml"),
        HttpCapture("https://law.example.jp/page.html", DATE, page, "text/html; charset=Shift_JIS"),
        HttpCapture("https://www.example.jp/feed.xml", DATE, rss, "application/xml"),
        HttpCapture("https://kokkai.ndl.go.jp/api/meeting?maximumRecords=1000", DATE, error, "application/xml"),
    ]
    path = write_warc(tmp_path / "fetch-00000.warc.gz", caps)
    rows, rejected, counts, roots = read(path, "official-apis", "LicenseRef-test")
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "212-plane.xml").write_bytes(kokkai)
    (tmp_path / "files" / "kaisha.xml").write_bytes(law)
    file_rows, _, _, _ = read(tmp_path / "files")

    by_record: dict[str, list[dict]] = {}
    for r in rows + rejected:
        by_record.setdefault(_record(r), []).append(r)
    kokkai_docs, law_docs, html_docs, rss_docs, error_items = [by_record[k] for k in sorted(by_record, key=int)]

    # the Diet response: one document per meeting, warc:<path>#<offset>/<issueID>, same text as the file
    from_file = {r["locator"].rsplit("#", 1)[1]: r for r in file_rows if r["locator"].startswith("kokkai:")}
    assert len(kokkai_docs) == 3 and {d["locator"].rsplit("/", 1)[1] for d in kokkai_docs} == set(from_file)
    for d in kokkai_docs:
        issue = d["locator"].rsplit("/", 1)[1]
        assert d["locator"] == f"warc:fetch-00000.warc.gz#{_record(d)}/{issue}"
        assert d["text"] == from_file[issue]["text"] and d["title"] == from_file[issue]["title"]
        assert d["url"] == f"https://kokkai.ndl.go.jp/txt/{issue}"  # the meeting's own page, not the API URL
        assert d["raw_sha256"] == from_file[issue]["raw_sha256"]  # the same meeting bytes either way
        assert d["fetch_time"] == DATE and d["warc_record_id"].startswith("<urn:uuid:")
        assert sha256_hex(reopen(d["locator"], roots).payload) == d["raw_sha256"]
    # the law response: one document located by its record alone
    (doc,) = law_docs
    law_file = next(r for r in file_rows if r["locator"].startswith("law:"))
    assert doc["locator"] == f"warc:fetch-00000.warc.gz#{_record(doc)}" and doc["title"] == "会社法"
    assert doc["text"] == law_file["text"] and doc["raw_sha256"] == sha256_hex(law) == law_file["raw_sha256"]
    assert doc["url"] == caps[1].url and doc["charset_evidence"] == "xml-declaration:utf-8"
    assert reopen(doc["locator"], roots).payload == law
    # HTML and XML no reader claims stay raw for the extract stage
    assert html_docs[0]["raw"] == page and html_docs[0]["text"] is None
    assert rss_docs[0]["raw"] == rss and rss_docs[0]["text"] is None
    # an API error is a rejection of that record
    assert [(e["reason"], e["locator"]) for e in error_items] == [("kokkai_api_error", f"warc:fetch-00000.warc.gz#{_record(error_items[0])}")]
    assert counts.docs_in == 3 + 1 + 1 + 1 + 1


def test_gzip_encoded_api_response_is_decoded_before_dispatch(shared, tmp_path):
    from io import BytesIO

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    body = gzip.compress((shared / MEETINGS).read_bytes(), mtime=0)
    path = tmp_path / "enc.warc.gz"
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        headers = StatusAndHeaders("200 OK", [("Content-Type", "application/xml"), ("Content-Encoding", "gzip"),
                                              ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record("https://kokkai.ndl.go.jp/api/meeting", "response",
                                                      payload=BytesIO(body), http_headers=headers))
    rows, rejected, _, roots = read(path)
    assert not rejected and len(rows) == 3
    for r in rows:
        assert sha256_hex(reopen(r["locator"], roots).payload) == r["raw_sha256"]


class _SentenceJson(Reader):
    """A reader written the way an EDINET or chABSA reader plugs in: media types, a sniff, and
    ``documents``/``payload_of`` over one payload (here: chABSA JSON, one document per sentence)."""

    kind = "test_sentences"
    locator_kind = "test-sentences"
    content_types = ("application/json",)
    multi_document = True

    def sniff(self, head: bytes) -> bool:
        return head.lstrip().startswith(b"{") and b'"sentences"' in head

    def documents(self, data: bytes, origin: Origin, limits: ReadLimits) -> Iterator[Item]:
        for i, s in enumerate(json.loads(data)["sentences"]):
            raw = self.payload_of(data, str(i))
            yield origin.text_row(origin.locate(part=str(i)), s["sentence"], sha256_hex(raw), "utf-8", "json:utf-8")

    def payload_of(self, data: bytes, part: str | None) -> bytes:
        return json.loads(data)["sentences"][int(part or 0)]["sentence"].encode("utf-8")


def test_a_new_payload_reader_plugs_in_as_one_class(shared, tmp_path, monkeypatch):
    monkeypatch.setitem(registry._REGISTRY, _SentenceJson.kind, _SentenceJson())
    doc = next((shared / "finance/chabsa").glob("e*_ann.json"))
    sentences = json.loads(doc.read_text(encoding="utf-8"))["sentences"]
    path = write_warc(tmp_path / "c.warc.gz", [HttpCapture("https://data.example.jp/chabsa.json", DATE, doc.read_bytes(), "application/json")])
    rows, rejected, _, roots = read(path)
    assert not rejected and [r["text"] for r in rows] == [s["sentence"] for s in sentences]
    assert rows[3]["locator"].endswith("/3")
    for r in rows:
        assert sha256_hex(reopen(r["locator"], roots).payload) == r["raw_sha256"]
