"""Secrets out of everything written: the EDINET Subscription-Key is a query parameter of every
EDINET request, so the URL as sent must never reach a WARC record, a log line or the manifest.

Requests are made with the real key; everything recorded uses the public form of the URL, in
which the parameter's value is the placeholder ``REDACTED`` (so the record still shows that a key
was sent, and the exact request minus its value). :class:`Redactor` is the last line of defence:
it replaces the key, raw, percent-encoded or JSON-escaped, in any text or bytes handed to it.
"""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

PLACEHOLDER = "REDACTED"


class Redactor:
    def __init__(self, secrets: list[str]):
        forms = {form for s in secrets if s
                 for form in (s, quote(s, safe=""), quote_plus(s), json.dumps(s)[1:-1], json.dumps(s)[1:-1].replace("/", "\\/"))}
        self.forms = sorted(forms, key=len, reverse=True)  # longest first: an encoded form may contain the raw one

    def __call__(self, text: str) -> str:
        for form in self.forms:
            text = text.replace(form, PLACEHOLDER)
        return text

    def bytes(self, data: bytes) -> tuple[bytes, bool]:
        """``data`` with every secret replaced, and whether anything was."""
        found = False
        for form in self.forms:
            raw = form.encode("utf-8")
            if raw in data:
                data, found = data.replace(raw, PLACEHOLDER.encode()), True
        return data, found
