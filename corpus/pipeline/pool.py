"""A fixed pool of Ray actors that runs every task of a run: started once, reused to the end.

Why not Ray Data: measured on this pipeline, its operators started a new set of worker processes
for every read and shuffle (each paying ~1.5 s of imports), its shuffles reserved CPUs the
document workers held (a deadlock with ``num_cpus = 1``), and its fixed cost per run-wide step was
larger than the work. Here a run starts ``size`` actors, each builds its stages once
(``WorkerContext``), and the driver hands them small tasks: a module-level function and its
arguments; the function reads and writes files and returns a few numbers.

A worker that dies (its process killed, its node lost) is replaced and its tasks given to other
workers; tasks are written to be repeated safely (checkpoints are marker-committed), and a result
that was lost with its node counts as a lost worker too. An exception raised by a task itself is
an error of the run and is raised to the caller. Nothing waits forever: with no live worker (the
replacements cannot be placed) for ``worker_timeout`` seconds, the run fails with what the workers
asked for and what the cluster has; re-running the same command resumes from the checkpoints.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from corpus.pipeline.context import RunSetup, WorkerContext

#: How often one task may lose its worker before the run gives up on it.
MAX_ATTEMPTS = 4
#: Tasks queued per worker beyond the one it runs (keeps workers busy between tasks).
PREFETCH = 1
#: Seconds a run waits with no live worker (a lost node being replaced, an autoscaler adding one).
WORKER_TIMEOUT = 600.0

Progress = Callable[[int, Any], None]


class WorkerLost(RuntimeError):
    """Workers kept dying on the same task, or no worker can be started."""


class _Worker:
    """The actor body: a WorkerContext and a generic ``call``."""

    def __init__(self, setup: RunSetup):
        # Ray's own loggers must not print into the user's terminal from workers.
        logging.getLogger("ray").setLevel(logging.ERROR)
        self.ctx = WorkerContext(setup)

    def ping(self) -> tuple[str, int]:
        """Where this worker runs: its Ray node id and process id."""
        import ray

        return ray.get_runtime_context().get_node_id(), os.getpid()

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
    """``size`` actors of ``num_cpus`` each; ``map`` runs tasks over them and returns results in order.

    ``tasks_per_node`` (finished tasks by Ray node id), ``workers_lost`` and ``tasks_requeued``
    say where a run's work ran and what it survived (the manifest's ``volatile``).
    """

    def __init__(self, setup: RunSetup, size: int, num_cpus: float = 1.0, worker_timeout: float = WORKER_TIMEOUT):
        import ray

        self._ray = ray
        self._cls = ray.remote(_Worker).options(num_cpus=num_cpus, max_restarts=0, max_concurrency=1)
        self.setup = setup
        self.size = size
        self.num_cpus = num_cpus
        self.worker_timeout = worker_timeout
        self.tasks_per_node: Counter[str] = Counter()
        self.workers_lost = 0
        self.tasks_requeued = 0
        self._ready: list[Any] = []
        self._node: dict[Any, str] = {}  # ready actor -> its node id
        self._starting: dict[Any, Any] = {}  # ping ref -> actor
        self._failed_starts = 0  # workers that died starting since one last started
        for _ in range(size):
            self._spawn()

    def _spawn(self) -> None:
        actor = self._cls.remote(self.setup)
        self._starting[actor.ping.remote()] = actor

    def _settle(self, timeout: float) -> None:
        """Move actors whose ping answered into the ready set; replace those that died starting."""
        if not self._starting:
            return
        done, _ = self._ray.wait(list(self._starting), num_returns=len(self._starting), timeout=timeout)
        for ref in done:
            actor = self._starting.pop(ref)
            try:
                self._node[actor], _ = self._ray.get(ref)
                self._ready.append(actor)
                self._failed_starts = 0
            except self._ray.exceptions.RayError as exc:
                self._kill(actor)
                self._failed_starts += 1
                if getattr(exc, "actor_init_failed", False) or self._failed_starts >= MAX_ATTEMPTS * self.size:
                    raise WorkerLost(f"Ray workers failed to start ({self._failed_starts} in a row): {_last_line(exc)}") from None
                self.workers_lost += 1
                self._spawn()  # its node was lost while it started: ask for another

    def _kill(self, actor: Any) -> None:
        try:
            self._ray.kill(actor, no_restart=True)
        except Exception:  # already gone
            pass

    def _no_worker(self, waited: float) -> None:
        """Fail once the pool has had no live worker for ``worker_timeout`` seconds."""
        if waited <= self.worker_timeout:
            return
        cpus = self._ray.cluster_resources().get("CPU", 0)
        raise WorkerLost(
            f"no live Ray worker for {waited:.0f} s: {len(self._starting)} worker(s) of {self.num_cpus:g} CPU each "
            f"cannot be placed (the cluster's live nodes have {cpus:g} CPU in all); add nodes or lower "
            "[ray.documents] num_cpus, then run the same command again to resume"
        )

    def map(self, fn: Callable[..., Any], arg_list: Sequence[tuple], progress: Progress | None = None) -> list[Any]:
        """``fn(ctx, *args)`` for every args tuple, spread over the workers; results in input order.

        ``progress(i, result)`` is called on the driver as each task finishes.
        """
        ray = self._ray
        lost = (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError, ray.exceptions.ObjectLostError)
        pending = deque(_Task(i, fn, tuple(a)) for i, a in enumerate(arg_list))
        results: list[Any] = [None] * len(arg_list)
        running: dict[Any, tuple[_Task, Any]] = {}  # result ref -> (task, actor)
        load: dict[Any, int] = {}
        idle_since: float | None = None
        while pending or running:
            self._settle(0)
            for task, actor in self._dispatch(pending, load):
                running[actor.call.remote(task.fn, task.args)] = (task, actor)
            if not running:  # work left, but no live worker to give it to
                idle_since = idle_since or time.monotonic()
                self._no_worker(time.monotonic() - idle_since)
                self._settle(1.0)
                continue
            idle_since = None
            done, _ = ray.wait(list(running) + list(self._starting), num_returns=1, timeout=1.0)
            for ref in done:
                if ref in self._starting:
                    continue  # settled on the next turn
                task, actor = running.pop(ref)
                load[actor] -= 1
                try:
                    results[task.index] = ray.get(ref)
                except lost as exc:  # the worker, its node, or the result with its node
                    self._lost(actor, task, pending, exc, running, load)
                    continue
                except ray.exceptions.RayTaskError as exc:
                    raise exc.as_instanceof_cause() from None
                self.tasks_per_node[self._node.get(actor, "unknown")] += 1
                if progress:
                    progress(task.index, results[task.index])
        return results

    def _dispatch(self, pending: deque, load: dict) -> list[tuple[_Task, Any]]:
        """Which pending tasks go to which ready worker now (counted in ``load``): one to every idle
        worker first; a queued extra task (``PREFETCH``) only while every worker of the pool is up
        and the tasks left outnumber them. Filling one worker's queue before the next got its first task ran two
        partitions on two workers one after the other (measured: 64 s instead of ~27 s)."""
        out = []
        for level in range(PREFETCH + 1):
            if level and (self._starting or len(pending) < len(self._ready)):
                break
            for actor in self._ready:
                if pending and load.get(actor, 0) <= level:
                    out.append((pending.popleft(), actor))
                    load[actor] = load.get(actor, 0) + 1
        return out

    def _lost(self, actor: Any, task: _Task, pending: deque, exc: Exception, running: dict, load: dict) -> None:
        """A worker died: replace it, requeue its other tasks, and this one first (unless it has
        now lost ``MAX_ATTEMPTS`` workers: then the run stops)."""
        if actor in self._ready:
            self._ready.remove(actor)
            self._node.pop(actor, None)
            self._kill(actor)
            self.workers_lost += 1
            self._spawn()
        for ref, (other, owner) in list(running.items()):
            if owner is actor:  # its queued tasks will fail too: requeue them now
                running.pop(ref)
                pending.appendleft(other)
                self.tasks_requeued += 1
        load.pop(actor, None)
        task.attempts += 1
        if task.attempts >= MAX_ATTEMPTS:
            raise WorkerLost(f"task {task.fn.__name__} lost its worker {task.attempts} times; last: {type(exc).__name__}: {_first_line(exc)}")
        pending.appendleft(task)
        self.tasks_requeued += 1

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """One task on one worker."""
        return self.map(fn, [args])[0]

    def shutdown(self) -> None:
        """Stop every worker, started or still waiting for resources."""
        for actor in self._ready + list(self._starting.values()):
            self._kill(actor)
        self._ready, self._starting = [], {}


def _first_line(exc: BaseException) -> str:
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)[:300]


def _last_line(exc: BaseException) -> str:
    """The exception line at the end of a remote traceback (what actually went wrong)."""
    return next((line.strip() for line in reversed(str(exc).splitlines()) if line.strip()), type(exc).__name__)[:300]
