"""国会会議録検索システム API XML (meeting and speech endpoints): one document per meeting."""

from __future__ import annotations

from collections.abc import Iterator

from corpus.io import storage
from corpus.io.bounded import ReadLimits
from corpus.sources.inputs import InputRange
from corpus.sources.kokkai import meetings, read_kokkai_xml_file
from corpus.sources.registry import Item, Located, Reader, register
from corpus.sources.xml import parse_xml, root_tag


@register
class KokkaiXmlReader(Reader):
    kind = "kokkai_xml"
    suffixes = (".xml",)
    priority = 1  # asked before law XML: its responses are recognised by their <data> root
    locator_kind = "kokkai"
    locator_fragment = r"[^#]+"
    description = "国会会議録 API XML (root <data>); locator kokkai:<path>#<issueID>"

    def sniff(self, head: bytes) -> bool:
        return root_tag(head) == "data"

    def read(self, rng: InputRange, limits: ReadLimits) -> Iterator[Item]:
        yield from read_kokkai_xml_file(rng.file)

    def reopen(self, location: str, fragment: str | None, text_column: str = "text") -> Located:
        found = [m for m in meetings(parse_xml(storage.read_bytes(location))) if m.issue_id == fragment]
        if not found:
            raise LookupError(f"{location}: no meeting {fragment}")
        return Located("kokkai", location, found[0].payload)
