"""PII redaction for financial text: e-mail, Japanese phone numbers, My Number, card numbers.

Each match is replaced by a typed placeholder ([EMAIL], [PHONE], [MYNUMBER], [CARD]) and counted
per type on the document (``pii_<type>`` columns), so the manifest can say how much was redacted.
Number types are validated, not just shaped: a 12-digit My Number must carry a valid check digit
(Act on the Use of Numbers, ministerial ordinance art. 5), a card number must pass Luhn. That keeps
account numbers, amounts and statute numbers in filings out of the net; a random 12-digit string
still validates as My Number about 1 time in 11, which is the price of not missing real ones.
Runs after normalisation (NFKC has turned full-width digits and ＠ into ASCII).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

import pyarrow as pa

from corpus.document import sha256_hex
from corpus.stage import Rejection, RowStage

PII_TYPES = ("email", "phone", "mynumber", "card")
PLACEHOLDERS = {"email": "[EMAIL]", "phone": "[PHONE]", "mynumber": "[MYNUMBER]", "card": "[CARD]"}

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Domestic 0AB-CDE-FGHI / 090-1234-5678 / (03)1234-5678 / 0120-123-456, or +81 forms.
_PHONE = re.compile(r"(?<![\d+-])(?:\+81[ -]?\(?0?\)?|\(?0)\d{1,4}\)?[ -]?\d{1,4}[ -]\d{3,4}(?![\d-])")
# Contiguous, or grouped with one consistent separator (4-4-4-4..7 or Amex 4-6-5).
_CARD = re.compile(r"(?<![\d-])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}|\d{4}([ -])\d{6}\2\d{5})(?![\d-])")
_MYNUMBER = re.compile(r"(?<![\d-])(?:\d{12}|\d{4}([ -])\d{4}\1\d{4})(?![\d-])")
#: Issuer prefixes of the card brands used in Japan (Visa, Mastercard, JCB, Amex, Diners,
#: Discover, UnionPay): a Luhn-valid run of table figures rarely starts with one of them.
_CARD_PREFIX = re.compile(r"4|5[1-5]|2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)|3[47]|35(?:2[89]|[3-8]\d)|3(?:0[0-5]|[68])|6(?:011|5|4[4-9]|2)")
_YEAR = re.compile(r"(?:19|20)\d\d")


def digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def luhn_valid(number: str) -> bool:
    """Luhn checksum (ISO/IEC 7812) over a digit string."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def mynumber_valid(number: str) -> bool:
    """Check digit of a 12-digit individual number: weights 2..7,2..6 from the right of the first 11."""
    if len(number) != 12 or not number.isdigit():
        return False
    body = [int(c) for c in number[:11]][::-1]  # P1 is the 11th digit
    s = sum(p * (n + 1 if n <= 6 else n - 5) for n, p in enumerate(body, start=1))
    r = s % 11
    return int(number[11]) == (0 if r <= 1 else 11 - r)


def card_valid(match: str) -> bool:
    d = digits(match)
    return 13 <= len(d) <= 19 and _CARD_PREFIX.match(d) is not None and luhn_valid(d)


def mynumber_match_valid(match: str) -> bool:
    """Check digit, and not a row of years (2016 2017 2018 in a financial table)."""
    groups = re.split(r"[ -]", match)
    if len(groups) == 3 and all(_YEAR.fullmatch(g) for g in groups):
        return False
    return mynumber_valid(digits(match))


def phone_valid(match: str) -> bool:
    d = digits(match)
    if match.startswith("+81"):
        d = "0" + d[2:].lstrip("0")
    return d.startswith("0") and len(d) in (10, 11)


_CHECKS: dict[str, tuple[re.Pattern[str], Callable[[str], bool]]] = {
    "email": (_EMAIL, lambda m: True),
    # Cards before My Number and phones: a 16-digit card must not be read as pieces of others.
    "card": (_CARD, card_valid),
    "mynumber": (_MYNUMBER, mynumber_match_valid),
    "phone": (_PHONE, phone_valid),
}


def redact(text: str, types: tuple[str, ...] = PII_TYPES) -> tuple[str, dict[str, int]]:
    """``text`` with every valid match of ``types`` replaced by its placeholder, and counts per type."""
    counts = dict.fromkeys(types, 0)
    for kind, (pattern, valid) in _CHECKS.items():
        if kind not in types:
            continue

        def sub(m: re.Match[str], kind: str = kind, valid: Callable[[str], bool] = valid) -> str:
            if not valid(m.group(0)):
                return m.group(0)
            counts[kind] += 1
            return PLACEHOLDERS[kind]

        text = pattern.sub(sub, text)
    return text, counts


class PiiStage(RowStage):
    """Redact PII in place; never rejects. Adds ``pii_<type>`` counts (null for types not enabled)."""

    name: ClassVar[str] = "pii"
    added_fields = tuple(pa.field(f"pii_{t}", pa.int64()) for t in PII_TYPES)

    def __init__(self, types: tuple[str, ...] = PII_TYPES):
        self.types = tuple(t for t in PII_TYPES if t in types)

    def process_row(self, row: dict[str, Any]) -> dict[str, Any] | Rejection:
        text, counts = redact(row["text"], self.types)
        out = {**row, **{f"pii_{t}": counts.get(t) for t in PII_TYPES}}
        if text != row["text"]:
            out.update(text=text, text_sha256=sha256_hex(text.encode("utf-8")), n_chars=len(text))
        return out
