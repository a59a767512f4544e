"""Which WARC bytes are committed: a table in the caller's SQLite state (crawl frontier, fetch state).

A WARC file is entered (offset 0) before anything is written to it; after records are written, the
offset they end at is committed in the same transaction as the outcome they record. On the next
start, corpus.sources.crawl.warc_out.repair cuts each file back to its committed offset, so a run
killed mid-record leaves no partial record and no record whose outcome the state does not know.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def connect(path: Path) -> sqlite3.Connection:
    """An autocommit connection in WAL mode: one writer (the scheduling thread), durable per transaction."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def transaction(db: sqlite3.Connection) -> sqlite3.Connection:
    """Open a transaction on an autocommit connection; ``with`` it to commit (or roll back on error)."""
    db.execute("BEGIN")
    return db


class WarcLedger:
    def __init__(self, db: sqlite3.Connection):
        self.db = db
        db.execute("CREATE TABLE IF NOT EXISTS warc_files (name TEXT PRIMARY KEY, committed INTEGER NOT NULL)")

    def opened(self, name: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO warc_files (name, committed) VALUES (?, 0)", (name,))

    def commit(self, name: str, offset: int) -> None:
        self.db.execute("UPDATE warc_files SET committed=? WHERE name=?", (offset, name))

    def committed(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT name, committed FROM warc_files").fetchall())
