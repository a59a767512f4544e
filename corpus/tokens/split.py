"""Which split a document belongs to, and where it sits in the shard order: pure hashes of ids.

Both decisions are functions of the doc_id (and a seed) only, never of arrival order, so any
number of workers, any partitioning and any re-run give the same split and the same order.
The split ignores the shuffle seed on purpose: changing the order of the training data must not
move documents between train and validation.
"""

from __future__ import annotations

import hashlib

SPLITS = ("train", "validation")


def hash_key(*parts: object) -> bytes:
    """sha256 of the parts joined by newlines: the one hash behind split, order and mixing."""
    return hashlib.sha256("\n".join(map(str, parts)).encode("utf-8")).digest()


def unit_interval(*parts: object) -> float:
    """A uniform number in [0, 1) from the first 8 bytes of ``hash_key(*parts)``."""
    return int.from_bytes(hash_key(*parts)[:8], "big") / 2**64


def split_of(doc_id: str, validation_fraction: float) -> str:
    """``validation`` for about ``validation_fraction`` of doc_ids, ``train`` for the rest.

    Every copy of an up-sampled document shares its doc_id, so all copies land in the same split
    (no train/validation leakage through repetition).
    """
    if validation_fraction <= 0:
        return "train"
    # hash_key("split", doc_id), spelled out: this runs once per document of a run
    u = int.from_bytes(hashlib.sha256(f"split\n{doc_id}".encode("utf-8")).digest()[:8], "big") / 2**64
    return "validation" if u < validation_fraction else "train"


def order_key(seed: int, doc_id: str, copy: int = 0) -> bytes:
    """Sort key of a document (copy) in the seeded shuffle: sha256 of (seed, doc_id, copy)
    (``hash_key("order", seed, doc_id, copy)``, spelled out for speed)."""
    return hashlib.sha256(f"order\n{seed}\n{doc_id}\n{copy}".encode("utf-8")).digest()
