"""What `corpus fetch` does, as data: a :class:`Task` is one request; an :class:`Outcome` is what its answer meant.

A task's ``url`` is its public form (any secret replaced by a placeholder, corpus.sources.apis.redact):
it is the task's identity in the state database, the WARC-Target-URI and the URL in the log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Task:
    url: str
    service: str  # "edinet" | "egov_laws" | "kokkai"
    job: str  # e.g. "edinet.0": the spec section that asked for it
    kind: str  # e.g. "edinet_list", "edinet_doc", "egov_list", "egov_law", "egov_bulk", "kokkai_page"
    info: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)  # what the metadata record says about it


#: How an answer ends a task: ``done`` (a document or list page stored), ``failed`` (given up, with a
#: reason; `corpus fetch --retry-failed` tries again), ``retry`` (later, same task), or ``halt`` (the
#: service refuses us, e.g. a refused key: the task stays queued and the service is not asked again
#: in this run).
STATES = ("done", "failed", "retry", "halt")


@dataclass
class Outcome:
    name: str  # e.g. "stored", "listed", "no_records", "api_error", "key_refused", "bad_response"
    state: str
    detail: str = ""
    children: list[Task] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # for the log and the WARC metadata record

    def __post_init__(self) -> None:
        assert self.state in STATES, self.state
