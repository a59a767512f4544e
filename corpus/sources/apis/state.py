"""The persisted state of `corpus fetch`: every request it knows of, queued or finished, in one SQLite file.

Like the crawl frontier: the public URL is the primary key, so a request is made at most once per
output directory (two queries that list the same law fetch its XML once). A task is finished in
the same transaction that queues the tasks its answer revealed (the next page, the filings of a
day) and commits the WARC offset its records end at (corpus.sources.crawl.ledger): a fetch killed
at any point resumes with exactly the requests whose answers were not recorded.
"""

from __future__ import annotations

import json
from pathlib import Path

from corpus.sources.apis.tasks import Task
from corpus.sources.crawl.ledger import WarcLedger, connect, transaction


class FetchState:
    def __init__(self, path: Path):
        self.db = connect(path)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS tasks (seq INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT UNIQUE NOT NULL,"
            " service TEXT NOT NULL, job TEXT NOT NULL, kind TEXT NOT NULL, info TEXT NOT NULL,"
            " state TEXT NOT NULL DEFAULT 'queued', outcome TEXT, detail TEXT)"
        )
        self.ledger = WarcLedger(self.db)

    def add(self, task: Task) -> bool:
        """Queue ``task``; False when its URL was seen before."""
        cur = self.db.execute(
            "INSERT OR IGNORE INTO tasks (url, service, job, kind, info) VALUES (?, ?, ?, ?, ?)",
            (task.url, task.service, task.job, task.kind, json.dumps(task.info, ensure_ascii=False, sort_keys=True)),
        )
        return cur.rowcount == 1

    def finish(self, url: str, state: str, outcome: str, detail: str, children: list[Task],
               warc: tuple[str, int] | None) -> list[Task]:
        """Record a task's end, queue its children and commit the WARC offset, atomically; returns the
        children that were new (a URL already known is not queued twice)."""
        with transaction(self.db):
            self.db.execute("UPDATE tasks SET state=?, outcome=?, detail=? WHERE url=?", (state, outcome, detail, url))
            added = [child for child in children if self.add(child)]
            if warc is not None:
                self.ledger.commit(*warc)
        return added

    def queued(self) -> list[Task]:
        rows = self.db.execute("SELECT url, service, job, kind, info FROM tasks WHERE state='queued' ORDER BY seq").fetchall()
        return [Task(url, service, job, kind, json.loads(info)) for url, service, job, kind, info in rows]

    def requeue_failed(self) -> int:
        return self.db.execute("UPDATE tasks SET state='queued', outcome=NULL, detail=NULL WHERE state='failed'").rowcount

    def by_state(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT state, COUNT(*) FROM tasks GROUP BY state").fetchall())

    def outcomes_by_job(self) -> dict[str, dict[str, int]]:
        rows = self.db.execute("SELECT job, COALESCE(outcome, 'queued'), COUNT(*) FROM tasks GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
        result: dict[str, dict[str, int]] = {}
        for job, outcome, n in rows:
            result.setdefault(job, {})[outcome] = n
        return result

    def failed(self) -> list[dict[str, str]]:
        rows = self.db.execute("SELECT url, job, outcome, detail FROM tasks WHERE state='failed' ORDER BY seq").fetchall()
        return [{"url": u, "job": j, "outcome": o, "detail": d} for u, j, o, d in rows]

    def close(self) -> None:
        self.db.close()
