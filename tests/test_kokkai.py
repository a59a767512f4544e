"""Diet proceedings: the 国会会議録検索システム API's XML, read one document per meeting."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from lxml import etree

from corpus.document import sha256_hex
from corpus.filters.license import LicensePolicy, LicenseStage
from corpus.sources.read import expand_input, read_inputs
from corpus.sources.readers.kokkai_xml import HEADER_SPEAKER, MEETING_FIELDS
from corpus.sources.registry import kind_of

from readers_util import read, reopen

MEETINGS = "diet/kokkai_api_meeting_xml"


def _read(path: Path):
    return read(path, "kokkai", "LicenseRef-JP-Kokkai-Art40")


def _kind(path: Path, forced: str | None = None) -> str | None:
    return kind_of(path.name, path.read_bytes()[:4096], forced)


def _meeting_speeches(shared, name: str) -> list[tuple[str, str]]:
    """(speaker, speech) of every speech record, straight from the XML, meeting by meeting."""
    root = etree.parse(str(shared / MEETINGS / name)).getroot()
    return [(m.findtext("issueID"), [(s.findtext("speaker"), s.findtext("speech")) for s in m.iter("speechRecord")]) for m in root.iter("meetingRecord")]


def test_meeting_responses_give_one_document_per_meeting_with_every_speech_in_order(shared):
    rows, rejected, counts, _ = _read(shared / MEETINGS)
    assert not rejected and counts.docs_out == 7  # 2 + 2 + 3 meetings in the three responses
    by_issue = {r["locator"].rsplit("#", 1)[1]: r for r in rows}
    for name in ("1-end.xml", "212-end.xml", "212-plane.xml"):
        for issue, speeches in _meeting_speeches(shared, name):
            doc = by_issue[issue]
            assert doc["locator"] == f"kokkai:kokkai_api_meeting_xml/{name}#{issue}"
            assert doc["url"] == f"https://kokkai.ndl.go.jp/txt/{issue}"
            lines = doc["text"].split("\n")
            assert lines[0] == doc["title"]
            spoken = [s.strip() for who, s in speeches if who != HEADER_SPEAKER]
            assert doc["text"] == "\n".join([doc["title"], *spoken])  # every speech, in order, nothing else
            header = next(s for who, s in speeches if who == HEADER_SPEAKER)
            assert header.strip().split("\n")[0] not in doc["text"]  # attendance/agenda record left out
    first = by_issue["100105291X00119470728"]
    assert first["title"] == "第1回国会 衆議院 労働委員会決算委員会連合審査会 第1号（1947-07-28）"
    assert "勞働委員會と決算委員會との連合審査會を開きます" in first["text"]  # 1947 kanji kept as printed
    assert "出席委員" not in by_issue["121205124X00220231108"]["text"]


def test_each_locator_reopens_the_meetings_exact_records(shared):
    rows, _, _, roots = _read(shared / MEETINGS)
    payloads = {r["doc_id"]: reopen(r["locator"], roots).payload for r in rows}
    for r in rows:
        assert sha256_hex(payloads[r["doc_id"]]) == r["raw_sha256"]
        assert r["locator"].rsplit("#", 1)[1].encode() in payloads[r["doc_id"]]
    assert len({r["raw_sha256"] for r in rows}) == len(rows)


def test_speech_endpoint_records_are_grouped_into_their_meetings(shared, tmp_path):
    """The /api/speech form: bare speechRecords carrying their meeting's fields, in any order."""
    meeting_root = etree.parse(str(shared / MEETINGS / "212-plane.xml")).getroot()
    records = []
    for m in meeting_root.iter("meetingRecord"):
        for s in m.iter("speechRecord"):
            rec = etree.Element("speechRecord")
            for child in s:
                rec.append(etree.fromstring(etree.tostring(child)))
            for name in MEETING_FIELDS:
                if m.find(name) is not None:
                    el = etree.SubElement(rec, name)
                    el.text = m.findtext(name)
            records.append(rec)
    random.Random(3).shuffle(records)
    speech_root = etree.Element("data")
    etree.SubElement(speech_root, "numberOfRecords").text = str(len(records))
    holder = etree.SubElement(speech_root, "records")
    for rec in records:
        etree.SubElement(etree.SubElement(holder, "record"), "recordData").append(rec)
    (tmp_path / "speeches.xml").write_bytes(etree.tostring(speech_root, xml_declaration=True, encoding="UTF-8"))
    shutil.copy(shared / MEETINGS / "212-plane.xml", tmp_path / "meetings.xml")

    rows, rejected, _, roots = _read(tmp_path)
    assert not rejected
    from_meetings = {r["locator"].rsplit("#", 1)[1]: r for r in rows if "meetings.xml" in r["locator"]}
    from_speeches = {r["locator"].rsplit("#", 1)[1]: r for r in rows if "speeches.xml" in r["locator"]}
    assert from_speeches.keys() == from_meetings.keys() and len(from_speeches) == 3
    for issue, doc in from_speeches.items():
        assert doc["text"] == from_meetings[issue]["text"] and doc["title"] == from_meetings[issue]["title"]
        assert sha256_hex(reopen(doc["locator"], roots).payload) == doc["raw_sha256"]


def test_api_errors_empty_responses_and_broken_xml_are_rejections(shared, tmp_path):
    (tmp_path / "error.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><data><message>検索条件の入力に誤りがあります。</message>'
        "<details><detail>maximumRecordsの値は1～100の範囲で指定してください。</detail></details></data>",
        encoding="utf-8",
    )
    (tmp_path / "empty.xml").write_text("<data><numberOfRecords>0</numberOfRecords></data>", encoding="utf-8")
    good = (shared / MEETINGS / "212-plane.xml").read_bytes()
    (tmp_path / "truncated.xml").write_bytes(b"<data>" + good[6:len(good) // 2])
    shutil.copy(shared / MEETINGS / "212-plane.xml", tmp_path / "good.xml")
    rows, rejected, counts, _ = _read(tmp_path)
    reasons = {Path(r["input_path"]).name: (r["reason"], r["detail"]) for r in rejected}
    assert reasons["error.xml"][0] == "kokkai_api_error"
    assert "検索条件の入力に誤りがあります" in reasons["error.xml"][1] and "maximumRecords" in reasons["error.xml"][1]
    assert reasons["empty.xml"][0] == "kokkai_no_records"
    assert reasons["truncated.xml"][0] == "xml_parse_error"
    assert len(rows) == 3 and counts.docs_in == 6  # the good file's meetings are unaffected


def test_xml_inputs_are_routed_by_their_root_element(shared, tmp_path):
    law = next((shared / "law_xml/full").glob("405AC0000000088_*.xml"))
    assert _kind(law) == "law_xml"
    assert _kind(shared / MEETINGS / "1-end.xml") == "kokkai_xml"
    (tmp_path / "broken.xml").write_bytes(b"<<not xml")
    assert _kind(tmp_path / "broken.xml") == "law_xml"  # the law reader rejects it with the parser's message
    assert _kind(shared / MEETINGS / "1-end.xml", "law_xml") == "law_xml"  # a forced format wins


def test_diet_documents_are_train_only_under_article_40(shared):
    table, _, _ = read_inputs(expand_input(str(shared / MEETINGS), "kokkai", "LicenseRef-JP-Kokkai-Art40").ranges)
    policy = LicensePolicy(("LicenseRef-JP-Kokkai-Art40",), False, False, "reject", False)
    out = LicenseStage(policy).process(table)
    assert out.rejected.num_rows == 0
    kept = out.kept.to_pylist()
    assert {r["license"] for r in kept} == {"LicenseRef-JP-Kokkai-Art40"}
    assert all(r["train_ok"] and not r["redistribute_ok"] for r in kept)
    public = LicenseStage(LicensePolicy(("LicenseRef-JP-Kokkai-Art40",), False, True, "reject", False)).process(table)
    assert public.kept.num_rows == 0 and public.rejected.num_rows == 7  # a public-release policy refuses them
