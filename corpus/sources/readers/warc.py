"""WARC/ARC files (crawls, Common Crawl extracts): one document per response/resource record."""

from __future__ import annotations

from collections.abc import Iterator

from warcio.archiveiterator import ArchiveIterator

from corpus.io import storage
from corpus.io.bounded import ReadLimits
from corpus.sources.inputs import InputRange
from corpus.sources.registry import Item, Located, Reader, register
from corpus.sources.warc import read_warc_file


@register
class WarcReader(Reader):
    kind = "warc"
    suffixes = (".warc", ".warc.gz", ".arc", ".arc.gz")
    locator_kind = "warc"
    locator_fragment = r"[0-9]+"
    description = "WARC/ARC (gzip or not): response and resource records; locator warc:<path>#<record offset>"

    def read(self, rng: InputRange, limits: ReadLimits) -> Iterator[Item]:
        yield from read_warc_file(rng.file)

    def reopen(self, location: str, fragment: str | None, text_column: str = "text") -> Located:
        with storage.open_read(location) as fh:
            fh.seek(int(fragment or 0))
            record = next(iter(ArchiveIterator(fh)))
            payload = record.content_stream().read()
            headers = dict(record.rec_headers.headers)
        return Located("warc", location, payload, headers)
