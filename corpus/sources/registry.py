"""The reader registry: every input format is one registered ``Reader`` class in one file.

A reader declares its ``kind`` (the spec's ``format``), the file suffixes it claims (and, where a
suffix is ambiguous, a sniffing rule on the first bytes), its locator prefix and fragment pattern,
how it plans a file (hash, and cut points where the file can be split across workers), how it
reads a range (bounded, streaming) and how ``corpus inspect``/``corpus audit`` reopen a locator.
The spec's formats, the input router and the locator patterns in ``manifests/`` all come from
here, so a new source is one new module in ``corpus/sources/readers/`` plus its tests and docs.
"""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
from abc import ABC
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from corpus.io import storage
from corpus.io.bounded import ReadLimits, TooLarge
from corpus.sources.inputs import InputRange
from corpus.sources.rows import Item, Origin, failure, too_large

#: How many bytes of a file's head ``Reader.sniff`` sees.
HEAD_BYTES = 4096


@dataclass
class Located:
    """The exact bytes behind a locator (``sha256(payload) == raw_sha256`` of its document)."""

    kind: str
    path: str
    payload: bytes
    headers: dict[str, str] = field(default_factory=dict)  # WARC record headers, for WARC locators


@dataclass(frozen=True)
class Plan:
    """What the driver learns of a file before any work: its hash, and the ranges it splits into."""

    sha256: str
    ranges: tuple[tuple[int, int | None, int], ...] = ((0, None, 1),)  # (start, end, first_line)


class Reader(ABC):
    """One input format. Subclasses set the class attributes and implement ``documents`` (a format
    read as one payload per file) or override ``read`` (a format that streams records).

    A reader that sets ``content_types`` also reads payloads of those media types found inside
    WARC records (a ``corpus fetch`` or crawl response), when ``sniff`` accepts their first bytes:
    the same ``documents`` code then runs on the record's payload, with the record's locator.
    """

    kind: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]] = ()
    #: The locator prefix (``warc`` in ``warc:<path>#<offset>``) and a regex of the fragment after '#'.
    locator_kind: ClassVar[str]
    locator_fragment: ClassVar[str | None] = None
    description: ClassVar[str] = ""
    #: Among readers claiming the same suffix or media type, higher priority is asked first (sniffing).
    priority: ClassVar[int] = 0
    #: Media types (lower case, no parameters) of WARC payloads this reader reads.
    content_types: ClassVar[tuple[str, ...]] = ()
    #: True when one payload holds several documents, told apart by a part name
    #: (``kokkai:<path>#<issueID>``, ``warc:<path>#<offset>/<issueID>``).
    multi_document: ClassVar[bool] = False

    def sniff(self, head: bytes) -> bool:
        """True if a file with one of ``suffixes`` (or a payload of one of ``content_types``) with
        these first bytes is this reader's (default: yes)."""
        return True

    def plan(self, location: str, size: int, target_bytes: int) -> Plan:
        """Hash the file; readers of splittable formats also find cut points near ``target_bytes``."""
        h = hashlib.sha256()
        for block in storage.iter_file(location):
            h.update(block)
        return Plan(h.hexdigest())

    def read(self, rng: InputRange, limits: ReadLimits) -> Iterator[Item]:
        """Document rows of ``rng`` (and rejections for records that cannot be read), in file order.

        Default: the whole file is one payload, held only if it is at most ``max_document_bytes``.
        """
        origin = Origin.of_file(rng.file, self.locator_kind)
        try:
            data = storage.read_bytes(rng.file.location, limits.max_document_bytes)
        except TooLarge as exc:
            yield origin.reject(too_large(exc), tag="too_large")
            return
        except OSError as exc:
            yield origin.reject(failure("unreadable_file", exc))
            return
        yield from read_payload(self, data, origin, limits)

    def documents(self, data: bytes, origin: Origin, limits: ReadLimits) -> Iterator[Item]:
        """The documents of one payload (a file's bytes, or a WARC record's payload)."""
        raise NotImplementedError(f"{type(self).__name__} reads files by records, not payloads")

    def payload_of(self, data: bytes, part: str | None) -> bytes:
        """The exact bytes of document ``part`` of a payload (for single-document readers: all of it)."""
        return data

    def range_locator(self, rng: InputRange) -> str:
        """A locator naming where a range starts (for a rejection that loses the rest of the range)."""
        return f"{self.locator_kind}:{rng.file.path}"

    def reopen(self, location: str, fragment: str | None, text_column: str = "text") -> Located:
        """The bytes a locator of this reader points at (default: the file, or one part of it)."""
        data = storage.read_bytes(location, ReadLimits().max_document_bytes)
        return Located(self.locator_kind, location, self.payload_of(data, fragment) if self.multi_document else data)


def read_payload(reader: Reader, data: bytes, origin: Origin, limits: ReadLimits) -> Iterator[Item]:
    """``reader.documents`` with a backstop: an exception it lets escape is one ``reader_error``
    rejection for the rest of this payload; documents already read are kept."""
    try:
        yield from reader.documents(data, origin, limits)
    except Exception as exc:  # a reader bug on hostile bytes must cost this payload, not the range
        yield origin.reject(failure("reader_error", exc), tag="reader_error")


_REGISTRY: dict[str, Reader] = {}
_LOADED = False


def register(cls: type[Reader]) -> type[Reader]:
    """Class decorator: make ``cls`` the reader of ``cls.kind``."""
    if cls.kind in _REGISTRY and type(_REGISTRY[cls.kind]) is not cls:
        raise ValueError(f"two readers for kind {cls.kind!r}: {type(_REGISTRY[cls.kind]).__name__} and {cls.__name__}")
    _REGISTRY[cls.kind] = cls()
    return cls


def _load() -> dict[str, Reader]:
    """Every reader module imported once (a reader imported directly earlier is not all of them)."""
    global _LOADED
    if not _LOADED:
        import corpus.sources.readers as package

        for mod in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{mod.name}")
        _LOADED = True
    return _REGISTRY


def kinds() -> list[str]:
    """Every registered reader kind, sorted (the spec's ``format`` values)."""
    return sorted(_load())


def reader(kind: str) -> Reader:
    readers = _load()
    if kind not in readers:
        raise KeyError(f"no reader for kind {kind!r} (known: {', '.join(sorted(readers))})")
    return readers[kind]


def by_locator_kind(prefix: str) -> Reader:
    for r in _load().values():
        if r.locator_kind == prefix:
            return r
    raise ValueError(f"unknown locator kind {prefix!r}")


def all_suffixes() -> tuple[str, ...]:
    return tuple(sorted({s for r in _load().values() for s in r.suffixes}))


def kind_of(name: str, head: bytes | None = None, forced: str | None = None) -> str | None:
    """The reader for a file: ``forced`` when the spec sets ``format``, else by suffix (the longest
    matching suffix wins; readers sharing it decide by sniffing ``head``); None when none claims it."""
    if forced is not None:
        return forced
    lower = name.lower()
    candidates = [(len(s), r.priority, r) for r in _load().values() for s in r.suffixes if lower.endswith(s)]
    if not candidates:
        return None
    longest = max(c[0] for c in candidates)
    tied = sorted((c for c in candidates if c[0] == longest), key=lambda c: -c[1])
    if len(tied) == 1:
        return tied[0][2].kind
    for _, _, r in tied:
        if head is not None and r.sniff(head):
            return r.kind
    return tied[-1][2].kind


def payload_reader(media_type: str, head: bytes) -> Reader | None:
    """The reader of a WARC payload of ``media_type`` whose first bytes are ``head`` (None: the
    payload stays raw bytes for the extract stage, as HTML and PDF do)."""
    candidates = sorted((r for r in _load().values() if media_type in r.content_types), key=lambda r: (-r.priority, r.kind))
    return next((r for r in candidates if r.sniff(head)), None)


def locator_pattern() -> str:
    """A regex every locator of every reader matches (for the JSON Schemas in manifests/).

    The fragment is optional: a rejection raised before a document could be told apart (an
    unreadable file, a file over the limit) names the file alone.
    """
    alts = sorted(
        f"{r.locator_kind}:[^#]+" + (f"(#{r.locator_fragment})?" if r.locator_fragment else "") for r in _load().values()
    )
    return "^(" + "|".join(dict.fromkeys(alts)) + ")$"


def split_locator(locator: str) -> tuple[str, str, str | None]:
    """(kind, path, fragment) of ``kind:path#fragment``; the fragment starts at the first '#'
    after the path (recorded paths never contain '#': such files are refused at planning)."""
    kind, _, rest = locator.partition(":")
    path, sep, frag = rest.partition("#")
    return (kind, path, frag) if sep else (kind, rest, None)


def locate(path: str, roots: dict[str, str]) -> str:
    """The location of a recorded path ``<input name>/<relative>`` given the run's input roots."""
    if storage.is_uri(path) or path.startswith("/"):
        return path  # recorded as a location: a file reached through a link out of its input
    name, _, rel = path.partition("/")
    if name not in roots:
        raise LookupError(f"input {name!r} of {path!r} is not one of this run's inputs ({sorted(roots)})")
    return storage.join(roots[name], rel) if rel else roots[name]


def open_locator(locator: str, roots: dict[str, str], text_column: str = "text") -> Located:
    """The bytes behind ``locator``; ``roots`` maps input names to their locations (manifest ``input_roots``)."""
    kind, path, frag = split_locator(locator)
    return by_locator_kind(kind).reopen(locate(path, roots), frag, text_column)
