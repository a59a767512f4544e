"""A fixed pool of Ray actors that runs every task of a run: started once, reused to the end.

Why not Ray Data: measured on this pipeline, its operators started a new set of worker processes
for every read and shuffle (each paying ~1.5 s of imports), its shuffles reserved CPUs the
document workers held (a deadlock with ``num_cpus = 1``), and its fixed cost per run-wide step was
larger than the work. Here a run starts ``size`` actors, each builds its stages once
(``WorkerContext``), and the driver hands them small tasks: a module-level function and its
arguments; the function reads and writes files and returns a few numbers.

A worker that dies (its process killed, its node lost) is replaced and its task given to another
worker; tasks are written to be repeated safely (checkpoints are marker-committed). An exception
raised by a task itself is an error of the run and is raised to the caller.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from corpus.pipeline.context import RunSetup, WorkerContext

#: How often one task may lose its worker before the run gives up on it.
MAX_ATTEMPTS = 4
#: Tasks queued per worker beyond the one it runs (keeps workers busy between tasks).
PREFETCH = 1

Progress = Callable[[int, Any], None]


class WorkerLost(RuntimeError):
    """Workers kept dying on the same task, or no worker can be started."""


class _Worker:
    """The actor body: a WorkerContext and a generic ``call``."""

    def __init__(self, setup: RunSetup):
        # Ray's own loggers must not print into the user's terminal from workers.
        logging.getLogger("ray").setLevel(logging.ERROR)
        self.ctx = WorkerContext(setup)

    def ping(self) -> int:
        return os.getpid()

    def call(self, fn: Callable[..., Any], args: tuple) -> Any:
        return fn(self.ctx, *args)


def init_ray(address: str | None, num_cpus: int | None) -> str:
    """Connect to ``address`` (or RAY_ADDRESS), else start an embedded local Ray."""
    import ray

    target = address or os.environ.get("RAY_ADDRESS")
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "logging_level": logging.ERROR,
            "log_to_driver": False,
            "configure_logging": True,
        }
        if target:
            ray.init(address=target, **kwargs)
        else:
            ray.init(num_cpus=num_cpus, **kwargs)
    return target or "local"


@dataclass
class _Task:
    index: int
    fn: Callable[..., Any]
    args: tuple
    attempts: int = 0


class WorkerPool:
    """``size`` actors of ``num_cpus`` each; ``map`` runs tasks over them and returns results in order."""

    def __init__(self, setup: RunSetup, size: int, num_cpus: float = 1.0):
        import ray

        self._ray = ray
        self._cls = ray.remote(_Worker).options(num_cpus=num_cpus, max_restarts=0, max_concurrency=1)
        self.setup = setup
        self.size = size
        self._ready: list[Any] = []
        self._starting: dict[Any, Any] = {}  # ping ref -> actor
        for _ in range(size):
            self._spawn()

    def _spawn(self) -> None:
        actor = self._cls.remote(self.setup)
        self._starting[actor.ping.remote()] = actor

    def _settle(self, timeout: float) -> None:
        """Move actors whose ping answered into the ready set (and drop those that died starting)."""
        if not self._starting:
            return
        done, _ = self._ray.wait(list(self._starting), num_returns=len(self._starting), timeout=timeout)
        for ref in done:
            actor = self._starting.pop(ref)
            try:
                self._ray.get(ref)
                self._ready.append(actor)
            except self._ray.exceptions.RayError:
                self._kill(actor)

    def _kill(self, actor: Any) -> None:
        try:
            self._ray.kill(actor, no_restart=True)
        except Exception:  # already gone
            pass

    def map(self, fn: Callable[..., Any], arg_list: Sequence[tuple], progress: Progress | None = None) -> list[Any]:
        """``fn(ctx, *args)`` for every args tuple, spread over the workers; results in input order.

        ``progress(i, result)`` is called on the driver as each task finishes.
        """
        ray = self._ray
        pending = deque(_Task(i, fn, tuple(a)) for i, a in enumerate(arg_list))
        results: list[Any] = [None] * len(arg_list)
        running: dict[Any, tuple[_Task, Any]] = {}  # result ref -> (task, actor)
        load: dict[Any, int] = {}
        waited_since = time.monotonic()
        while pending or running:
            self._settle(0)
            for actor in list(self._ready):
                while pending and load.get(actor, 0) <= PREFETCH:
                    task = pending.popleft()
                    running[actor.call.remote(task.fn, task.args)] = (task, actor)
                    load[actor] = load.get(actor, 0) + 1
            if not running:
                if not self._ready and not self._starting:
                    raise WorkerLost("no Ray worker could be started for this run (are there CPUs left in the cluster?)")
                self._settle(1.0)
                if time.monotonic() - waited_since > 600:
                    raise WorkerLost("no Ray worker became ready within 10 minutes")
                continue
            waited_since = time.monotonic()
            done, _ = ray.wait(list(running) + list(self._starting), num_returns=1, timeout=1.0)
            for ref in done:
                if ref in self._starting:
                    continue  # settled on the next turn
                task, actor = running.pop(ref)
                load[actor] -= 1
                try:
                    results[task.index] = ray.get(ref)
                except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as exc:
                    self._lost(actor, task, pending, exc, running, load)
                    continue
                except ray.exceptions.RayTaskError as exc:
                    raise exc.as_instanceof_cause() from None
                if progress:
                    progress(task.index, results[task.index])
        return results

    def _lost(self, actor: Any, task: _Task, pending: deque, exc: Exception, running: dict, load: dict) -> None:
        """A worker died: requeue its tasks (this one first), replace it."""
        task.attempts += 1
        if task.attempts >= MAX_ATTEMPTS:
            raise WorkerLost(f"task {task.fn.__name__}{task.args[:1]} lost its worker {task.attempts} times; last: {type(exc).__name__}")
        pending.appendleft(task)
        if actor in self._ready:
            self._ready.remove(actor)
            self._kill(actor)
            self._spawn()
        for ref, (other, owner) in list(running.items()):
            if owner is actor:  # its queued tasks will fail too: requeue them now
                running.pop(ref)
                pending.appendleft(other)
        load.pop(actor, None)

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """One task on one worker."""
        return self.map(fn, [args])[0]

    def shutdown(self) -> None:
        for actor in self._ready + list(self._starting.values()):
            self._kill(actor)
        self._ready, self._starting = [], {}
