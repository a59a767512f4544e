"""Run a command and measure the memory of its whole process tree from /proc while it runs.

A `corpus run` is a tree: the driver, Ray's GCS and raylet, the worker processes the raylet
starts, and each worker's extraction sandbox. Sampled every ``interval`` seconds: the tree's total
resident memory (the largest sum of VmRSS seen in one sample), and each process's own high-water
mark (VmHWM, kept by the kernel, so a spike between two samples is not missed), last read while
the process was alive, grouped by role (driver, Ray worker, extraction sandbox, Ray's daemons).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TreePeak:
    tree_rss: int = 0  # bytes: the largest total VmRSS of the tree in one sample
    process_hwm: dict[int, tuple[str, int]] = field(default_factory=dict)  # pid -> (role, VmHWM bytes)
    parent: dict[int, int] = field(default_factory=dict)  # pid -> parent pid
    samples: int = 0

    def children(self, role: str) -> dict[int, int]:
        """Parent pid -> how many processes of ``role`` it had over the run (e.g. extraction children per worker)."""
        out: dict[int, int] = {}
        for pid, (r, _) in self.process_hwm.items():
            if r == role:
                out[self.parent[pid]] = out.get(self.parent[pid], 0) + 1
        return out

    def by_role(self) -> dict[str, int]:
        """The highest VmHWM of any process of each role (bytes)."""
        out: dict[str, int] = {}
        for role, hwm in self.process_hwm.values():
            out[role] = max(out.get(role, 0), hwm)
        return out


@dataclass
class Measured:
    returncode: int
    stdout: str
    stderr: str
    peak: TreePeak


def _children() -> dict[int, list[int]]:
    """ppid -> pids, for every process now in /proc."""
    out: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])  # the name in parentheses may hold spaces
        out.setdefault(ppid, []).append(int(entry.name))
    return out


def tree(root: int) -> list[tuple[int, int]]:
    """(pid, parent pid) of ``root`` and all its descendants now alive."""
    kids = _children()
    found, todo = [], [(root, 0)]
    while todo:
        pid, parent = todo.pop()
        found.append((pid, parent))
        todo.extend((kid, pid) for kid in kids.get(pid, ()))
    return found


def _status(pid: int) -> tuple[str, int, int] | None:
    """(name, VmRSS bytes, VmHWM bytes) or None for a process that is gone (or a zombie)."""
    values: dict[str, str] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                values[key] = value.strip()
    except OSError:
        return None
    if "VmRSS" not in values:
        return None
    kb = lambda k: int(values[k].split()[0]) * 1024  # noqa: E731
    return values.get("Name", "?"), kb("VmRSS"), kb("VmHWM")


def _role(pid: int, root: int, name: str) -> str:
    """``driver`` for the root, ``sandbox`` for an extraction child, else the process name
    (``ray::_Worker``, ``raylet``, ``gcs_server``, ...). Ray retitles a worker as it goes
    (``ray::IDLE``, ``ray::_Worker``, ``ray::_Worker.call``, cut to 15 characters): the part before
    the dot is its role."""
    if pid == root:
        return "driver"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            if b"corpus.extract.sandbox" in fh.read():
                return "sandbox"
    except OSError:
        pass
    return name.split(".", 1)[0]


def sample(root: int, peak: TreePeak) -> None:
    total = 0
    for pid, parent in tree(root):
        st = _status(pid)
        if st is None:
            continue
        peak.parent[pid] = parent
        name, rss, hwm = st
        total += rss
        known = peak.process_hwm.get(pid, ("", 0))
        # asked again at every sample: a child caught between fork and exec still shows its parent's command line
        role = "sandbox" if known[0] == "sandbox" else _role(pid, root, name)
        peak.process_hwm[pid] = (role, max(hwm, known[1]))
    peak.tree_rss = max(peak.tree_rss, total)
    peak.samples += 1


def run_measured(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float, interval: float = 0.05) -> Measured:
    """Run ``cmd`` to its end, sampling its process tree's memory; stdout and stderr as text."""
    peak = TreePeak()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        deadline = time.monotonic() + timeout
        try:
            while proc.poll() is None:
                sample(proc.pid, peak)
                if time.monotonic() > deadline:
                    raise subprocess.TimeoutExpired(cmd, timeout)
                time.sleep(interval)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        texts = []
        for fh in (out, err):
            fh.seek(0)
            texts.append(fh.read().decode("utf-8", errors="replace"))
    return Measured(proc.returncode, texts[0], texts[1], peak)
