"""chABSA (TIS/chakki, CC BY 4.0): sentences of the 経営成績 sections of 有価証券報告書, one JSON file per filing.

One document per file: the sentences in ``sentence_id`` order, one per line. A sentence alone is
too short to train on and would fall to every length rule; the filing's sentences in order are the
narrative they were cut from. The aspect/polarity annotations are left out (they are labels, not
text). The header is kept: ``filer_code`` (``edi_id``), ``security_code``, ``doc_type``
(``doc_text``, 有価証券報告書), ``title`` (``document_name``, the company) and the rest
(``category33``, ``category17``, ``scale``, ...) in ``source_fields``. Locator ``chabsa:<path>``.

A file that is not JSON is ``json_parse_error``; JSON without a ``sentences`` list of objects with
a string ``sentence`` is ``not_chabsa_json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from corpus.document import sha256_hex
from corpus.io.bounded import ReadLimits
from corpus.sources.registry import Reader, register
from corpus.sources.rows import Item, Origin, failure
from corpus.stage import Rejection

#: Header fields with a column of their own.
OWN = {"edi_id": "filer_code", "security_code": "security_code", "doc_text": "doc_type", "document_name": "title"}


def _sentences(obj: Any) -> list[str] | None:
    items = obj.get("sentences") if isinstance(obj, dict) else None
    if not isinstance(items, list) or not all(isinstance(s, dict) and isinstance(s.get("sentence"), str) for s in items):
        return None
    ordered = sorted(enumerate(items), key=lambda p: (p[1].get("sentence_id") if isinstance(p[1].get("sentence_id"), int) else p[0], p[0]))
    return [s["sentence"].strip() for _, s in ordered]


@register
class ChabsaReader(Reader):
    kind = "chabsa_json"
    suffixes = (".json",)
    locator_kind = "chabsa"
    description = "chABSA JSON (sentences of a 有価証券報告書 with a header), one document per filing; locator chabsa:<path>"

    def sniff(self, head: bytes) -> bool:
        return b'"sentences"' in head and b'"header"' in head

    def documents(self, data: bytes, origin: Origin, limits: ReadLimits) -> Iterator[Item]:
        digest = sha256_hex(data)
        try:
            obj = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            yield origin.reject(failure("json_parse_error", exc), raw_sha256=digest)
            return
        sentences = _sentences(obj)
        if sentences is None:
            yield origin.reject(Rejection("not_chabsa_json", detail="no 'sentences' list of objects with a string 'sentence'"), raw_sha256=digest)
            return
        header = obj.get("header") if isinstance(obj.get("header"), dict) else {}
        columns = {col: header[key] for key, col in OWN.items() if isinstance(header.get(key), str) and header[key]}
        rest = {k: v for k, v in sorted(header.items()) if k not in OWN and isinstance(v, (str, int, float)) and v != ""}
        text = "\n".join(s for s in sentences if s)
        yield origin.text_row(origin.locate(), text, digest, "utf-8", "json:utf-8", "application/json",
                              source_fields=json.dumps(rest, ensure_ascii=False, sort_keys=True), **columns)
