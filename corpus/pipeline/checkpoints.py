"""Checkpoints of finished partitions, one directory per (phase, key), valid once their marker exists.

A partition's files (kept, rejected, signatures, line counts) are written first and ``counts.json``
last: the marker. A reader trusts a directory only when its marker is there, so a worker killed
half-way leaves files that the next attempt simply overwrites. No rename is needed, which is what
makes the same checkpoints work on object stores (where there is none).
"""

from __future__ import annotations

import json
from typing import Any

from corpus.io import storage
from corpus.stage import StageCounts

MARKER = "counts.json"


class CheckpointStore:
    """Finished partitions of one phase under ``<work>/<phase dir>/<key>/``."""

    #: phase -> its folder under the work directory
    DIRS = {"prepare": "prepared", "judge": "partitions"}

    def __init__(self, work: str, phase: str):
        self.root = storage.join(work, self.DIRS[phase])

    def path(self, key: str) -> str:
        return storage.join(self.root, key)

    def file(self, key: str, name: str) -> str:
        return storage.join(self.root, key, name)

    def is_done(self, key: str) -> bool:
        return storage.is_file(self.file(key, MARKER))

    def begin(self, key: str) -> None:
        """Remove what a killed attempt may have left, before writing afresh."""
        storage.delete_dir(self.path(key))

    def commit(self, key: str, counts: dict[str, StageCounts], extra: dict[str, Any] | None = None) -> None:
        """Write the marker: the partition's per-stage counts (and small facts like its sites)."""
        body = {"counts": {k: v.to_dict() for k, v in counts.items()}, **(extra or {})}
        storage.write_text(self.file(key, MARKER), json.dumps(body, ensure_ascii=False, sort_keys=True))

    def marker(self, key: str) -> dict[str, Any]:
        return json.loads(storage.read_text(self.file(key, MARKER)))

    def counts(self, key: str) -> dict[str, StageCounts]:
        return {k: StageCounts.from_dict(v) for k, v in self.marker(key)["counts"].items()}
