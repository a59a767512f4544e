"""e-Gov law XML (法令標準XML, bare or in an API envelope): one document per law."""

from __future__ import annotations

from collections.abc import Iterator

from corpus.io.bounded import ReadLimits
from corpus.sources.inputs import InputRange
from corpus.sources.law_xml import read_law_xml_file
from corpus.sources.registry import Item, Reader, register


@register
class LawXmlReader(Reader):
    kind = "law_xml"
    suffixes = (".xml",)
    locator_kind = "law"
    locator_fragment = r"[^#]+@[^#]+"
    description = "e-Gov law XML; locator law:<path>#<LawID>@<revision>"

    def read(self, rng: InputRange, limits: ReadLimits) -> Iterator[Item]:
        yield from read_law_xml_file(rng.file)
