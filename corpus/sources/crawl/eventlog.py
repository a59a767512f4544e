"""The JSON-lines event log of `corpus crawl` and `corpus fetch`: one decision per line, flushed at once.

A ``redact`` function, when given, is applied to each serialised line, so a secret (the EDINET
Subscription-Key) cannot reach the log through any field, however it got there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

#: (event, url, entry) -> None; the CLI prints progress from it.
ProgressFn = Callable[[str, str, dict], None]


class EventLog:
    def __init__(self, path: Path, progress: ProgressFn | None = None, redact: Callable[[str], str] | None = None):
        self.fh = path.open("a", encoding="utf-8")
        self.progress = progress
        self.redact = redact or (lambda text: text)
        self.counts: dict[str, int] = {}

    def write(self, event: str, url: str, **fields) -> dict:
        entry = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "event": event, "url": url, **fields}
        line = self.redact(json.dumps(entry, ensure_ascii=False, sort_keys=True))
        self.fh.write(line + "\n")
        self.fh.flush()
        self.counts[event] = self.counts.get(event, 0) + 1
        entry = json.loads(line)
        if self.progress:
            self.progress(event, entry["url"], entry)
        return entry

    def close(self) -> None:
        self.fh.close()
