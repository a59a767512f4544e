"""The wheel carries everything the code reads: a `pip install .` must work without the checkout.

Built offline from the test environment's setuptools (no build isolation, no index), unpacked, and
imported from a directory that holds nothing else, so a lookup that still reaches into the
repository fails here.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(out), str(REPO)],
        check=True, capture_output=True, cwd=out,
    )
    (built,) = out.glob("jp_corpus-*.whl")
    return built


def test_every_package_and_data_file_is_in_the_wheel(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {str(p.parent.relative_to(REPO)).replace("/", ".") for p in (REPO / "corpus").rglob("__init__.py")}
    declared = set(tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    assert packages <= declared, f"add to [tool.setuptools] packages: {sorted(packages - declared)}"
    for module in (REPO / "corpus").rglob("*.py"):
        assert str(module.relative_to(REPO)) in names
    for folder, packaged in (("filters", "corpus/_rules"), ("manifests", "corpus/_schemas")):
        files = [p for p in (REPO / folder).rglob("*") if p.is_file()]
        assert files
        for p in files:
            assert f"{packaged}/{p.relative_to(REPO / folder)}" in names, p


def test_installed_wheel_finds_its_rules_and_schemas_outside_the_checkout(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = (
        "import corpus.resources as r; from corpus.filters.rules import load_profile; from corpus.resources import filters_dir;"
        "from corpus.filters.license import load_licenses; from corpus.provenance.schemas import load_schema;"
        "p = load_profile('swallow-v1'); l = load_licenses(); s = load_schema('manifest');"
        "print(filters_dir()); print(len(p.rules), 'LicenseRef-JP-GSTU-2.0' in l, s['title'])"
    )
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    where, summary = done.stdout.strip().splitlines()
    assert Path(where) == site / "corpus" / "_rules"
    rules, gstu, title = summary.split(" ", 2)
    assert int(rules) > 10 and gstu == "True" and title
