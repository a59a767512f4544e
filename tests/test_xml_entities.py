"""Entity-laden XML of each XML kind (e-Gov law XML, 国会会議録 API XML), as files and inside WARC
records: an internal entity reads as its text, an external one (XXE) is refused without being
opened, an exponential or quadratic expansion is refused before it expands."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus.document import sha256_hex
from corpus.sources.warc_write import HttpCapture, write_warc

from readers_util import read, reopen

KOKKAI = "diet/kokkai_api_meeting_xml/212-plane.xml"
LAW = "law_xml/full/405AC0000000088_20240401_505AC0000000063.xml"
SECRET = "root:x:0:0"  # the first line of /etc/passwd: must never reach a row

LAUGHS = '<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1) if i > 1 else "&lol;") * 10}">' for i in range(1, 10)
)
QUADRATIC = '<!ENTITY a "' + "あ" * 30000 + '">'


def _with_doctype(data: bytes, root: str, subset: str, old: str, new: str) -> bytes:
    """``data`` with an internal DTD subset after its XML declaration and ``old`` text replaced by ``new``."""
    text = data.decode("utf-8")
    assert old in text
    decl_end = text.index("?>") + 2 if text.startswith("<?xml") else 0
    return (text[:decl_end] + f"<!DOCTYPE {root} [{subset}]>" + text[decl_end:].replace(old, new, 1)).encode("utf-8")


def _law_source(shared: Path) -> Path:
    path = shared / LAW
    return path if path.exists() else next((shared / "law_xml/full").glob("405AC0000000088_*.xml"))


CASES = {
    # kind -> (source file, root element, text replaced, entity reference used instead)
    "kokkai": (KOKKAI, "data", "参議院", "&house;"),
    "law": (None, "Law", "行政手続法", "&house;"),
}


def _source(shared: Path, kind: str) -> bytes:
    src = CASES[kind][0]
    return (shared / src).read_bytes() if src else _law_source(shared).read_bytes()


def _variants(shared: Path, kind: str) -> dict[str, bytes]:
    _, root, old, ref = CASES[kind]
    data = _source(shared, kind)
    value = {"kokkai": "参議院", "law": "行政手続法"}[kind]
    return {
        "internal": _with_doctype(data, root, f'<!ENTITY house "{value}">', old, ref),
        "xxe": _with_doctype(data, root, '<!ENTITY house SYSTEM "file:///etc/passwd">', old, ref),
        "laughs": _with_doctype(data, root, LAUGHS, old, "&lol9;"),
        "quadratic": _with_doctype(data, root, QUADRATIC, old, "&a;" * 2000),
        "parameter": _with_doctype(data, root, '<!ENTITY % ext SYSTEM "file:///etc/passwd"> %ext;', old, old),
    }


EXPECTED = {"xxe": "xml_external_entity", "parameter": "xml_external_entity", "laughs": "xml_entity_expansion", "quadratic": "xml_entity_expansion"}


def _check(kind: str, name: str, rows: list[dict], rejected: list[dict], plain: list[dict], roots: dict) -> None:
    everything = repr(rows) + repr(rejected)
    assert SECRET not in everything, f"{kind}/{name}: the external file was read"
    if name in EXPECTED:
        assert not rows and [r["reason"] for r in rejected] == [EXPECTED[name]], (kind, name, rejected)
        return
    assert not rejected, (kind, name, rejected)
    # the internal entity reads as its text: the same documents as the file without it
    assert [r["text"] for r in rows] == [r["text"] for r in plain], (kind, name)
    for r in rows:
        assert sha256_hex(reopen(r["locator"], roots).payload) == r["raw_sha256"]


@pytest.mark.parametrize("kind", sorted(CASES))
def test_entities_in_xml_files(shared, tmp_path, kind):
    (tmp_path / "plain.xml").write_bytes(_source(shared, kind))
    plain, _, _, _ = read(tmp_path / "plain.xml")
    assert plain
    for name, data in _variants(shared, kind).items():
        path = tmp_path / name / f"{kind}.xml"
        path.parent.mkdir()
        path.write_bytes(data)
        rows, rejected, counts, roots = read(path.parent)
        assert counts.docs_in == len(rows) + len(rejected)
        _check(kind, name, rows, rejected, plain, roots)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_entities_in_xml_responses_inside_a_warc(shared, tmp_path, kind):
    """The same payloads as e-Gov / NDL API responses in a WARC (as ``corpus fetch`` stores them)."""
    variants = {"plain": _source(shared, kind), **_variants(shared, kind)}
    caps = [HttpCapture(f"https://api.example.jp/{kind}/{name}", "2024-05-01T00:00:00Z", data, "application/xml; charset=utf-8")
            for name, data in variants.items()]
    path = write_warc(tmp_path / "fetch.warc.gz", caps)
    rows, rejected, _, roots = read(path)

    def record(item: dict) -> int:  # the record offset of warc:<path>#<offset>[/<part>]
        return int(item["locator"].split("#")[1].split("/")[0])

    offsets = sorted({record(x) for x in rows + rejected})
    assert len(offsets) == len(variants)
    per_record = [([r for r in rows if record(r) == o], [r for r in rejected if record(r) == o]) for o in offsets]
    plain = per_record[0][0]
    for name, (got, bad) in zip(variants, per_record):
        _check(kind, name, got, bad, plain, roots)
