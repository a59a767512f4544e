"""A real multi-node Ray cluster on this machine: a head and worker nodes started with `ray start`.

Each node is its own `ray start --block` process group with its own raylet, object store, temp
dir and CPUs, exactly as on separate machines that share one network. Every process gets the
environment given (the S3 endpoint and credentials of tests/s3_server.py), as a cluster's pods or
machines would. The test process never connects to the cluster itself (its own embedded Ray may
be running): it asks a short-lived driver subprocess (``python ray_cluster.py ADDRESS N``) which
nodes are alive.

``kill`` SIGKILLs a node's whole process tree at once (raylet, object store, its Ray workers):
what a lost machine or an evicted pod looks like to the rest of the cluster.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from s3_server import free_port

#: The `ray` command of this interpreter's environment (the nodes must run the same Ray and corpus).
RAY = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray") or "ray"
#: Environment every cluster process gets: no usage reporting, and no token auth on this
#: loopback-only test cluster (a token would otherwise have to be shared by every process).
BASE_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


@dataclass
class Node:
    name: str
    proc: subprocess.Popen
    temp_dir: Path
    log: Path

    def alive(self) -> bool:
        return self.proc.poll() is None


def _children() -> dict[int, list[int]]:
    """ppid -> pids, from /proc (Ray's workers call setsid, so a process group does not hold them)."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def descendants(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(tree.get(p, []))
    return found


class RayCluster:
    """``ray start --head`` now; ``add_worker`` adds nodes; ``stop`` kills everything it started."""

    def __init__(self, env: dict[str, str], head_cpus: int = 1):
        # Short, under /tmp: Ray's Unix sockets live below each node's temp dir (paths of <108 bytes).
        self.root = Path(tempfile.mkdtemp(prefix="corpus-ray-", dir="/tmp"))
        self.env = {**os.environ, **env, **BASE_ENV}
        self.env.pop("RAY_ADDRESS", None)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.nodes: list[Node] = []
        self.head = self._start(
            "head", head_cpus, ["--head", "--port", str(self.port), "--include-dashboard", "false", "--dashboard-port", str(free_port())]
        )
        self._wait_for_gcs()

    def _wait_for_gcs(self, timeout: float = 60) -> None:
        """Until the head's GCS accepts connections (a worker node gives up joining after ~20 s)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if not self.head.alive() or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the Ray head did not start: {self.log_tail(self.head, 2000)}")
                time.sleep(0.2)

    def _start(self, name: str, cpus: int, args: list[str]) -> Node:
        temp = self.root / name
        temp.mkdir(parents=True, exist_ok=True)
        log = self.root / f"{name}.log"
        proc = subprocess.Popen(
            [str(RAY), "start", *args, "--num-cpus", str(cpus), "--temp-dir", str(temp), "--disable-usage-stats", "--block"],
            env=self.env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        node = Node(name, proc, temp, log)
        self.nodes.append(node)
        return node

    def add_worker(self, name: str, cpus: int = 1) -> Node:
        return self._start(name, cpus, ["--address", self.address])

    def wait_for_nodes(self, count: int, timeout: float = 90) -> list[dict]:
        """The alive nodes (node_id, CPU, name) once ``count`` have registered, or those alive after
        ``timeout``; raises RuntimeError, with the nodes' logs, when the head cannot be reached."""
        done = subprocess.run(
            [sys.executable, __file__, self.address, str(count), str(timeout)],
            env=self.env, capture_output=True, text=True, timeout=timeout + 60,
        )
        if done.returncode != 0:
            logs = "\n".join(f"--- {n.name}\n{n.log.read_text()[-1500:]}" for n in self.nodes)
            raise RuntimeError(f"cannot reach the Ray head at {self.address}: {done.stderr[-2000:]}\n{logs}")
        nodes = json.loads(done.stdout.strip().splitlines()[-1])
        for n in nodes:
            n["name"] = next((x.name for x in self.nodes if str(x.temp_dir) in n["raylet_socket"]), "?")
        return nodes

    def log_tail(self, node: Node, chars: int = 600) -> str:
        return node.log.read_text(errors="replace")[-chars:]

    def kill(self, node: Node) -> None:
        """SIGKILL the node's whole process tree at once: a machine gone without a goodbye."""
        pids = descendants(node.proc.pid)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        node.proc.wait(10)

    def stop(self) -> None:
        for node in reversed(self.nodes):
            if node.alive():
                self.kill(node)
        shutil.rmtree(self.root, ignore_errors=True)


def _report_nodes(address: str, count: int, timeout: float) -> None:
    """Driver side of ``wait_for_nodes``: connect, poll until ``count`` nodes are alive, print them."""
    import ray

    ray.init(address=address, log_to_driver=False, logging_level="ERROR")
    deadline = time.monotonic() + timeout
    while len(alive := [n for n in ray.nodes() if n["Alive"]]) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    print(json.dumps([{"node_id": n["NodeID"], "cpus": n["Resources"].get("CPU", 0), "raylet_socket": n["RayletSocketName"]} for n in alive]))


if __name__ == "__main__":
    _report_nodes(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
