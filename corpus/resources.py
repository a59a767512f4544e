"""Where the data files the code reads live: the rules (``filters/``) and the JSON Schemas (``manifests/``).

In a checkout (and an editable install) they sit at the top of the repository, where reviewers
and auditors read them; a wheel carries the same files inside the package as ``corpus/_rules``
and ``corpus/_schemas`` (pyproject.toml maps them), so ``pip install .`` works without the
repository.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
#: repository folder -> its name inside an installed wheel
_PACKAGED = {"filters": "_rules", "manifests": "_schemas"}


def resource_dir(name: str) -> Path:
    """The folder ``name`` (``filters`` or ``manifests``): inside the installed package, else the checkout's."""
    packaged = _PACKAGE / _PACKAGED[name]
    return packaged if packaged.is_dir() else _PACKAGE.parent / name


def filters_dir() -> Path:
    """The ``filters/`` folder: rules as data (quality profiles, licence and source registries, word lists)."""
    return resource_dir("filters")
