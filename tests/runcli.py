"""`corpus` as a user runs it: a subprocess from the repository root, on its own local Ray."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from conftest import REPO

PAGES = "law_html/lawegov_2013_sjis/html"


def corpus_cli(*args: object, prefix: Sequence[str] = ()) -> subprocess.CompletedProcess:
    """``corpus ARGS`` (after ``prefix``, e.g. setpriv); RAY_ADDRESS unset so it starts its own Ray."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    return subprocess.run([*prefix, sys.executable, "-m", "corpus.cli", *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)


def law_pages(shared: Path, folder: Path) -> Path:
    """Three real Shift_JIS law pages (tens of KB each) in ``folder``: a small input with enough tokens for several shards."""
    folder.mkdir(parents=True)
    for p in sorted((shared / PAGES).glob("*.html"), key=lambda p: (-p.stat().st_size, p.name))[4:7]:
        shutil.copy(p, folder / p.name)
    return folder
