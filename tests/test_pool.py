"""The worker pool never waits forever: real Ray workers die for real, and the run ends with one clear line.

(A lost node on a real two-node cluster is in tests/test_cluster.py.)
"""

from __future__ import annotations

import os
import signal

import pytest

from corpus.errors import describe
from corpus.pipeline.context import RunSetup
from corpus.pipeline.pool import MAX_ATTEMPTS, WorkerLost, WorkerPool
from corpus.pipeline.runner import run_pipeline
from corpus.pipeline.spec import load_spec

from conftest import SAMPLE_DATA, SAMPLE_SPEC, write_spec


def test_a_task_that_keeps_killing_its_worker_ends_the_run(ray_local, tmp_path):
    def kill_own_worker(ctx, n):  # a local function: pickled by value, so workers need not import this module
        if n == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        return os.getpid()

    pool = WorkerPool(RunSetup(load_spec(SAMPLE_SPEC), str(tmp_path / "_work"), str(tmp_path)), size=1)
    try:
        assert pool.map(kill_own_worker, [(0,), (0,)])  # a live worker answers
        with pytest.raises(WorkerLost) as err:
            pool.map(kill_own_worker, [(1,)])
        # Each attempt ran on a new worker (the dead one was replaced), then the pool gave up.
        assert pool.workers_lost == MAX_ATTEMPTS and pool.tasks_requeued == MAX_ATTEMPTS - 1
        line = describe(err.value)
        assert line.startswith(f"task kill_own_worker lost its worker {MAX_ATTEMPTS} times") and "\n" not in line
        assert pool.map(kill_own_worker, [(0,)])  # the replacement of the last lost worker still works
    finally:
        pool.shutdown()


def test_workers_bigger_than_the_local_ray_fail_before_any_work(ray_local, tmp_path):
    spec = write_spec(tmp_path / "spec.toml", [(SAMPLE_DATA / "egov_law_html_2025", "egov", "CC-BY-4.0")], "[ray.documents]\nnum_cpus = 3\n")
    with pytest.raises(WorkerLost, match=r"\[ray.documents\] num_cpus = 3 is more than the 2 CPU of the local Ray"):
        run_pipeline(load_spec(spec), str(tmp_path / "out"))
    assert not (tmp_path / "out" / "_work" / "partitions").exists()


def test_as_many_tasks_as_workers_run_at_the_same_time(ray_local, tmp_path):
    # Two tasks on two workers: each task waits (bounded) until the other has started, so they can
    # only both succeed if the pool gave one to each worker instead of queueing both on the first.
    def meet(ctx, me, other, rendezvous):
        import time as _time
        from pathlib import Path as _Path

        _Path(rendezvous, me).touch()
        deadline = _time.monotonic() + 30
        while not _Path(rendezvous, other).exists():
            if _time.monotonic() > deadline:
                return None
            _time.sleep(0.05)
        return os.getpid()

    pool = WorkerPool(RunSetup(load_spec(SAMPLE_SPEC), str(tmp_path / "_work"), str(tmp_path)), size=2)
    try:
        pids = pool.map(meet, [("a", "b", str(tmp_path)), ("b", "a", str(tmp_path))])
        assert None not in pids and len(set(pids)) == 2
    finally:
        pool.shutdown()
