"""Bounded reading of the members of a ZIP payload (an EDINET filing package, an e-Gov bulk archive).

A ZIP's headers say how large each member is, and nothing obliges them to be true: a member that
declares 1 KB may inflate to gigabytes, and many entries may point at the same compressed bytes
(the overlapping-entry "zip bomb"). So the sizes in the headers are never trusted: a member is
inflated in 64 KiB steps and counted, and reading stops as soon as it passes the member limit or
the package's whole budget, raising ``TooLarge`` after at most one step past it. Everything a ZIP
can be wrong about (bad CRC, truncation, encryption, an unknown compression method) is one
``ZipMemberError`` naming the member, so a reader turns it into one rejection and goes on.
"""

from __future__ import annotations

import io
import zipfile
from corpus.io.bounded import TooLarge

ZIP_MAGIC = b"PK\x03\x04"
_STEP = 1 << 16


class ZipMemberError(Exception):
    """A member (or the archive) cannot be read: the message says which and why."""


def is_zip(head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC)


def first_member_name(head: bytes) -> str | None:
    """The name in the first local file header (from a payload's first bytes, without parsing the
    archive): how readers sniff which kind of package a ZIP is."""
    if not is_zip(head) or len(head) < 30:
        return None
    length = int.from_bytes(head[26:28], "little")
    raw = head[30:30 + length]
    flags = int.from_bytes(head[6:8], "little")
    return raw.decode("utf-8" if flags & 0x800 else "cp437", "replace")


class ZipPackage:
    """A ZIP payload held in memory (the payload itself is bounded by the reader that got it).

    ``limit`` bounds each member; ``total`` bounds what all members read together inflate to
    (default: ``limit``, for a package whose members make one whole, like a filing).
    """

    def __init__(self, data: bytes, limit: int, total: int | None = None):
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
        except Exception as exc:  # BadZipFile, a lying central directory, ...: the archive's fault
            raise ZipMemberError(f"not a readable ZIP archive: {type(exc).__name__}: {exc}") from exc
        self.limit = limit
        self.total = limit if total is None else total
        self.remaining = self.total
        self.exhausted = False  # the package budget ran out: nothing more is read from it

    def names(self) -> list[str]:
        """Member file names in archive order (directories left out)."""
        return [i.filename for i in self._zip.infolist() if not i.is_dir()]

    def read(self, name: str) -> bytes:
        """The inflated bytes of member ``name``: ``TooLarge`` past the limit or the package budget
        (whichever is nearer), ``ZipMemberError`` if the member cannot be read. Once the package's
        budget has run out, every read is ``TooLarge`` without inflating anything."""
        if self.exhausted:
            raise TooLarge(self.total, self.total, f"ZIP package (its budget was spent before {name})")
        per_member = self.limit <= self.remaining
        cap = self.limit if per_member else self.remaining
        what = f"ZIP member {name}" if per_member else f"ZIP package (its members inflated up to {name})"
        out = bytearray()
        try:
            with self._zip.open(name) as fh:
                while True:
                    step = fh.read(_STEP)
                    if not step:
                        break
                    out += step
                    if len(out) > cap:
                        if per_member:
                            raise TooLarge(len(out), self.limit, what)
                        self.exhausted = True
                        raise TooLarge(self.total - self.remaining + len(out), self.total, what)
        except TooLarge:
            raise
        except Exception as exc:  # bad CRC, truncation, encryption, zlib/lzma/bz2 errors: this member's fault
            raise ZipMemberError(f"{name}: {type(exc).__name__}: {exc}") from exc
        self.remaining -= len(out)
        return bytes(out)
