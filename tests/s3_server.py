"""A real S3-compatible server on 127.0.0.1 for the object-storage tests (moto's standalone server).

Started as a subprocess on a free port; the pipeline talks to it through the standard AWS
environment (``AWS_ENDPOINT_URL`` and credentials), exactly as it would talk to MinIO or S3.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyarrow.fs as pafs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3Server:
    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        exe = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or shutil.which("moto_server")
        cmd = [exe] if exe else [sys.executable, "-m", "moto.server"]
        self.proc = subprocess.Popen([*cmd, "-H", "127.0.0.1", "-p", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.endpoint + "/", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("moto_server did not start")
                time.sleep(0.2)

    def env(self) -> dict[str, str]:
        """The standard AWS variables that point any client (pyarrow, boto3, workers) at this server."""
        return {
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": self.endpoint,
        }

    def filesystem(self) -> pafs.S3FileSystem:
        return pafs.S3FileSystem(access_key="testing", secret_key="testing", region="us-east-1", endpoint_override=f"127.0.0.1:{self.port}", scheme="http")

    def make_bucket(self, name: str) -> None:
        import boto3

        boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1").create_bucket(Bucket=name)

    def upload(self, local: Path, bucket_path: str) -> None:
        """Copy a local file or directory tree to ``bucket/path``."""
        fs = self.filesystem()
        files = [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file())
        for f in files:
            rel = "" if local.is_file() else "/" + f.relative_to(local).as_posix()
            with fs.open_output_stream(bucket_path + rel, compression=None) as out:
                out.write(f.read_bytes())

    def read(self, bucket_path: str) -> bytes:
        with self.filesystem().open_input_stream(bucket_path, compression=None) as fh:
            return fh.read()

    def write(self, bucket_path: str, data: bytes) -> None:
        with self.filesystem().open_output_stream(bucket_path, compression=None) as out:
            out.write(data)

    def listing(self, bucket_path: str) -> list[str]:
        infos = self.filesystem().get_file_info(pafs.FileSelector(bucket_path, recursive=True))
        return sorted(i.path[len(bucket_path) + 1:] for i in infos if i.type == pafs.FileType.File)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def corpus_env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env
