"""A real two-node Ray cluster on this machine, inputs and outputs on a real S3-compatible server.

The head and the worker node are separate `ray start` process groups, each with its own raylet,
object store, temp dir and 1 CPU (tests/ray_cluster.py); every process gets the S3 endpoint and
credentials through the standard AWS environment (tests/s3_server.py), as a cluster's pods would.
The head has a CPU too, so that a run's workers are spread over both nodes, and so that a run
which loses the worker node still has somewhere to go on.

One spec (the sample job's inputs and the chABSA securities-report pages, on ``s3://``) is run
three ways, each with `corpus run` as a user would: embedded with ``[ray] num_cpus = 1`` (one
worker), on the cluster with ``--address``, and on the cluster while the worker node is killed
mid-way. All three must write the same bytes. A last run asks for workers no node can hold and
must end, not wait.

Time: the embedded run goes on while the nodes start and the cluster run runs, so the module
costs about cluster start + two cluster runs + ~10 s (on the shared 2-core machine, load average
2-5 from other jobs: 100-116 s in all).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from conftest import REPO, SAMPLE_DATA, SAMPLE_MODEL
from ray_cluster import RayCluster
from s3_server import S3Server, corpus_env
from shardrun import SOURCES as CHABSA_SOURCES, chabsa_pages

BUCKET = "corpus"
SAMPLE_INPUTS = [  # (name under data/sample, source)
    ("egov_law_html_2025", "egov-law-html-2025"),
    ("lawegov_html_2013_sjis", "lawegov-2013-12"),
    ("lawegov_html_2013_nov_mirror", "lawegov-2013-11-mirror"),
    ("warc/law-egov-2015.warc.gz", "lawegov-crawl-2015"),
]
#: Outputs compared byte for byte (manifest.json apart from ``volatile``).
COMPARED = ("shards/", "rejected/", "signatures/", "provenance/", "ATTRIBUTION.md", "datasheet.md", "croissant.json")
RUN_TIMEOUT = 300
#: Input files per partition: enough checkpointed units that a node can be killed between them.
FILES_PER_PARTITION = 20


def _spec(path: Path, ray: str, chabsa: bool = True) -> Path:
    inputs = [(f"s3://{BUCKET}/sample/{name}", source, "LicenseRef-JP-Copyright-Art13") for name, source in SAMPLE_INPUTS]
    inputs += [(f"s3://{BUCKET}/chabsa/{source}", source, "CC-BY-4.0") for source in CHABSA_SOURCES if chabsa]
    blocks = "".join(f'[[inputs]]\npath = "{p}"\nsource = "{s}"\nlicense = "{lic}"\n\n' for p, s, lic in inputs)
    path.write_text(
        f'[pipeline]\nname = "cluster"\n\n{blocks}'
        f'[tokenizer]\nmodel = "{SAMPLE_MODEL.as_posix()}"\n\n'
        "[dedup.near]\nenabled = true\nbands = 14\nrows = 8\nmin_jaccard = 0.5\n\n"
        "[shards]\ntarget_tokens = 60000\nvalidation_fraction = 0.2\n\n"
        f"[partitioning]\nmax_files = {FILES_PER_PARTITION}\n\n"
        f"[ray]\n{ray}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    server = S3Server()
    server.make_bucket(BUCKET)
    server.upload(SAMPLE_DATA, f"{BUCKET}/sample")
    pages = tmp_path_factory.mktemp("chabsa")
    chabsa_pages(pages)
    server.upload(pages, f"{BUCKET}/chabsa")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> Path:
    # num_cpus = 1: the embedded run has one worker (this used to deadlock under Ray Data's shuffles).
    return _spec(tmp_path_factory.mktemp("spec") / "cluster.toml", "num_cpus = 1")


def _start(env: dict[str, str], *args: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "corpus.cli", "run", *args]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> tuple[int, str]:
    _, err = proc.communicate(timeout=RUN_TIMEOUT)
    return proc.returncode, err


@pytest.fixture(scope="module")
def embedded(s3, spec):
    """The embedded run (``[ray] num_cpus = 1``), started at once so it runs while the cluster starts."""
    env = corpus_env(s3.env())
    env.pop("RAY_ADDRESS", None)
    proc = _start(env, str(spec), "--output", f"s3://{BUCKET}/embedded")
    yield proc
    if proc.poll() is None:  # a test that did not need it finished first
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def reference(s3, embedded):
    """The embedded run's output prefix and manifest."""
    rc, err = _finish(embedded)
    assert rc == 0, err[-3000:]
    return f"{BUCKET}/embedded", json.loads(s3.read(f"{BUCKET}/embedded/manifest.json"))


@pytest.fixture(scope="module")
def cluster(s3, embedded):  # noqa: ARG001 - the embedded run goes on while the nodes start
    """A head and a worker node of 1 CPU each; ``(cluster, {"head": node_id, "worker": node_id})``."""
    started = time.monotonic()
    ray = RayCluster(s3.env(), head_cpus=1)  # a head that does not start fails the test here
    try:
        worker = ray.add_worker("worker", cpus=1)
        alive = ray.wait_for_nodes(2)
        if len(alive) < 2:
            pytest.skip(f"Ray cannot start a second raylet on this machine (only the head joined): {ray.log_tail(worker)}")
        nodes = {n["name"]: n["node_id"] for n in alive}
        print(f"two-node cluster up in {time.monotonic() - started:.1f} s")
        yield ray, nodes
    finally:
        ray.stop()


def _files(s3: S3Server, prefix: str) -> list[str]:
    return [p for p in s3.listing(prefix) if p.startswith(COMPARED)]


def assert_same_output(s3: S3Server, got: str, expected: str) -> dict:
    """Byte-identical compared files; the manifest equal apart from ``volatile``. Returns got's manifest."""
    names = _files(s3, expected)
    assert any(n.startswith("signatures/") for n in names) and any(n.startswith("rejected/") for n in names)
    assert _files(s3, got) == names
    for name in names:
        assert s3.read(f"{got}/{name}") == s3.read(f"{expected}/{name}"), f"{name} differs"
    manifest, reference = (json.loads(s3.read(f"{p}/manifest.json")) for p in (got, expected))
    assert {k: v for k, v in manifest.items() if k != "volatile"} == {k: v for k, v in reference.items() if k != "volatile"}
    return manifest


def test_cluster_run_uses_both_nodes_and_writes_what_the_embedded_run_wrote(s3, cluster, spec, request):
    ray, nodes = cluster
    started = time.monotonic()
    rc, err = _finish(_start(ray.env, str(spec), "--output", f"s3://{BUCKET}/cluster", "--address", ray.address))
    assert rc == 0, err[-3000:]
    took = time.monotonic() - started
    reference = request.getfixturevalue("reference")  # only now: the embedded run had the meantime to finish
    volatile = assert_same_output(s3, f"{BUCKET}/cluster", reference[0])["volatile"]
    assert volatile["ray_address"] == ray.address and volatile["workers"] == 2
    # Tasks really ran on both nodes' raylets (node ids as Ray reports them inside each worker).
    assert set(volatile["tasks_per_node"]) == {nodes["head"], nodes["worker"]}, volatile["tasks_per_node"]
    assert min(volatile["tasks_per_node"].values()) >= 5
    assert volatile["workers_lost"] == 0
    print(f"cluster run: {took:.1f} s")


def test_embedded_run_with_one_cpu_completes(reference):
    _, manifest = reference
    assert manifest["volatile"]["workers"] == 1 and manifest["volatile"]["ray_address"] == "local"
    assert manifest["totals"]["accounting_ok"] and manifest["totals"]["kept"] > 200
    print(f"embedded run: {manifest['volatile']['duration_seconds']:.1f} s in the pipeline")


def _judged(s3: S3Server, prefix: str) -> int:
    """Partitions whose judge checkpoint is committed (marker written)."""
    selector = pafs.FileSelector(f"{prefix}/_work/partitions", recursive=True, allow_not_found=True)
    return sum(1 for i in s3.filesystem().get_file_info(selector) if i.path.endswith("/counts.json"))


def test_run_survives_losing_the_worker_node_midway(s3, cluster, spec, reference):
    ray, nodes = cluster
    out = f"{BUCKET}/killed"
    partitions = reference[1]["partitions"]
    started = time.monotonic()
    proc = _start(ray.env, str(spec), "--output", f"s3://{out}", "--address", ray.address)
    while (done := _judged(s3, out)) < partitions // 4:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() - started < RUN_TIMEOUT
        time.sleep(0.1)
    assert done < partitions and proc.poll() is None, "the run was not mid-way when the node was killed"
    killed_at = time.monotonic()
    ray.kill(ray.nodes[1])
    rc, err = _finish(proc)
    assert rc == 0, err[-3000:]
    manifest = assert_same_output(s3, out, reference[0])
    volatile = manifest["volatile"]
    # The kill hit work in flight: tasks handed to the worker node's worker were given to another.
    assert volatile["workers_lost"] >= 1 and volatile["tasks_requeued"] >= 1, volatile
    assert set(volatile["tasks_per_node"]) <= {nodes["head"], nodes["worker"]}
    assert volatile["tasks_per_node"][nodes["head"]] > partitions - done  # the head went on with the rest
    print(f"killed at {done}/{partitions} partitions, {killed_at - started:.1f} s in; run took {time.monotonic() - started:.1f} s")


def test_no_live_worker_ends_the_run_with_one_clear_line(cluster, tmp_path):
    """Workers of 4 CPU fit on no node of this cluster: the run must not wait for them forever."""
    ray, _ = cluster
    spec = _spec(tmp_path / "big.toml", "worker_timeout_seconds = 5\n[ray.documents]\nnum_cpus = 4", chabsa=False)
    started = time.monotonic()
    rc, err = _finish(_start(ray.env, str(spec), "--output", f"s3://{BUCKET}/stuck", "--address", ray.address))
    assert rc == 1
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err[-3000:]
    assert "no live Ray worker for" in errors[0] and "of 4 CPU each cannot be placed" in errors[0], errors[0]
    assert "lower [ray.documents] num_cpus, then run the same command again" in errors[0], errors[0]
    assert "Traceback" not in err
    print(f"no-worker run failed after {time.monotonic() - started:.1f} s: {errors[0]}")
