"""The persisted frontier: every URL the crawl has seen, queued or done, in one SQLite file.

The URL is the primary key, which is the fetch-once guarantee: a URL is queued at most once per
crawl directory, ever. A URL becomes ``done`` in the same transaction that records the WARC offset
its records end at (the ``warc_files`` ledger), so a crawl killed at any point restarts with every
unfinished URL still queued, every stored page skipped, and the WARC cut back to what the frontier
knows (corpus.sources.crawl.warc_out.repair). All access happens on the crawler's scheduling thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from corpus.sources.crawl.ledger import WarcLedger, connect, transaction


@dataclass(frozen=True)
class QueuedUrl:
    url: str
    depth: int
    via: str | None


class Frontier:
    def __init__(self, path: Path):
        self.db = connect(path)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS urls (seq INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT UNIQUE NOT NULL,"
            " depth INTEGER NOT NULL, via TEXT, state TEXT NOT NULL DEFAULT 'queued', outcome TEXT, counted INTEGER DEFAULT 0)"
        )
        self.ledger = WarcLedger(self.db)

    def add(self, url: str, depth: int, via: str | None) -> bool:
        """Queue ``url``; False when it was seen before (queued or done)."""
        cur = self.db.execute("INSERT OR IGNORE INTO urls (url, depth, via) VALUES (?, ?, ?)", (url, depth, via))
        return cur.rowcount == 1

    def finish(self, url: str, outcome: str, counted: bool, warc: tuple[str, int] | None = None) -> None:
        """Mark ``url`` done; ``counted`` says whether it used up one of max_pages; ``warc`` is the
        (file, offset) its records end at, committed in the same transaction."""
        with transaction(self.db):
            self.db.execute("UPDATE urls SET state='done', outcome=?, counted=? WHERE url=?", (outcome, int(counted), url))
            if warc is not None:
                self.ledger.commit(*warc)

    def queued(self) -> list[QueuedUrl]:
        rows = self.db.execute("SELECT url, depth, via FROM urls WHERE state='queued' ORDER BY seq").fetchall()
        return [QueuedUrl(*r) for r in rows]

    def pages_done(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM urls WHERE state='done' AND counted=1").fetchone()[0]

    def outcomes(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT url, outcome FROM urls WHERE state='done'").fetchall())

    def close(self) -> None:
        self.db.close()
