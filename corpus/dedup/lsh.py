"""LSH banding: ``b`` bands of ``r`` signature slots each; documents sharing a band key are candidates.

The band key is a 64-bit hash of the band's ``r`` values seeded with the band index, computed for
all documents of a batch at once, so the Ray runner can group documents by key with a shuffle
instead of building datasketch's in-memory index. A pair lands in the same bucket exactly when
datasketch's ``MinHashLSH(params=(b, r))`` would return it (up to 64-bit key collisions, which
the Jaccard verification in ``near.py`` also catches).
"""

from __future__ import annotations

import numpy as np

_POLY = np.uint64(0x100000001B3)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def lsh_threshold(b: int, r: int) -> float:
    """The Jaccard at which the S-curve 1-(1-s^r)^b rises steepest, approximately (1/b)^(1/r)."""
    return (1.0 / b) ** (1.0 / r)


def collision_probability(s: float, b: int, r: int) -> float:
    """Probability that a pair with Jaccard ``s`` shares at least one band."""
    return 1.0 - (1.0 - s**r) ** b


def band_keys(signatures: np.ndarray, b: int, r: int) -> np.ndarray:
    """``(n, b)`` int64 band keys of ``(n, b*r)`` uint32 signatures."""
    n = signatures.shape[0]
    if signatures.shape[1] != b * r:
        raise ValueError(f"signature has {signatures.shape[1]} slots, bands x rows = {b * r}")
    sig = signatures.astype(np.uint64).reshape(n, b, r)
    h = np.broadcast_to(np.arange(1, b + 1, dtype=np.uint64), (n, b)).copy()
    with np.errstate(over="ignore"):
        for j in range(r):
            h = h * _POLY + sig[:, :, j]
        h ^= h >> np.uint64(30)
        h *= _M1
        h ^= h >> np.uint64(27)
        h *= _M2
        h ^= h >> np.uint64(31)
    return h.view(np.int64)
