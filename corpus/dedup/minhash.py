"""MinHash signatures, vectorised, bit-identical to datasketch's ``MinHash`` (scheme "affine32").

datasketch 2.x hashes each shingle to 32 bits, pre-mixes it with the MurmurHash3 finaliser and
applies ``a_k * h + b_k`` (mod 2^32) for every permutation k, keeping the minimum. Its
``update_batch`` calls the hash function once per shingle in Python; here the shingles are hashed
for a whole document at once (``shingles.py``), repeated shingles are dropped (the minimum does
not change), and the permutations run over blocks of shingles so the temporaries stay in cache.
The permutation parameters are taken from datasketch itself for the same ``(num_perm, seed)``, so
``LeanMinHash(seed=seed, hashvalues=sig, scheme="affine32")`` is a datasketch sketch that its
``MinHashLSH`` and ``jaccard`` accept.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from corpus.dedup.shingles import MorphemeShingler, char_shingle_hashes

SCHEME = "affine32"
_MAX = np.uint32(0xFFFFFFFF)
_BLOCK = 4096

#: What a partition stores per kept document: enough to dedup and cite it without its text.
SIGNATURE_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("source", pa.string()),
        pa.field("locator", pa.string()),
        pa.field("url", pa.string()),
        pa.field("input_path", pa.string()),
        pa.field("fetch_time", pa.string()),
        pa.field("n_chars", pa.int64()),
        pa.field("signature", pa.binary()),
    ]
)


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser (as datasketch applies it before the permutations)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's own permutation parameters ``(a, b)`` for ``(num_perm, seed)``."""
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME).permutations
    return a.astype(np.uint32), b.astype(np.uint32)


def _distinct(values: np.ndarray) -> np.ndarray:
    """Distinct values via sort + neighbour compare (several times faster than ``np.unique`` here)."""
    s = np.sort(values)
    keep = np.empty(len(s), dtype=bool)
    keep[:1] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def signature_of_hashes(hashes: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The MinHash signature (uint32, one per permutation) of a set of 32-bit shingle hashes."""
    sig = np.full(len(a), _MAX, dtype=np.uint32)
    if hashes.size == 0:
        return sig
    hv = fmix32(_distinct(hashes.astype(np.uint32)))[None, :]
    a_col, b_col = a[:, None], b[:, None]
    with np.errstate(over="ignore"):
        for start in range(0, hv.shape[1], _BLOCK):
            block = a_col * hv[:, start : start + _BLOCK]  # permutation-major: the min runs along rows
            block += b_col
            np.minimum(sig, block.min(axis=1), out=sig)
    return sig


def estimate_jaccard(x: np.ndarray, y: np.ndarray) -> float:
    """Share of equal signature slots: the same estimate as datasketch's ``MinHash.jaccard``."""
    return float(np.count_nonzero(x == y)) / len(x)


class MinHasher:
    """Signatures for one configuration (shingle kind, n, permutations, seed); picklable."""

    def __init__(self, num_perm: int = 128, seed: int = 1, shingle: str = "char", ngram: int = 5):
        if shingle not in ("char", "morpheme"):
            raise ValueError(f"shingle must be 'char' or 'morpheme', got {shingle!r}")
        self.num_perm, self.seed, self.shingle, self.ngram = num_perm, seed, shingle, ngram
        self.a, self.b = permutations(num_perm, seed)
        self._morph = MorphemeShingler(ngram) if shingle == "morpheme" else None

    def settings(self) -> dict[str, Any]:
        return {"num_perm": self.num_perm, "seed": self.seed, "shingle": self.shingle, "ngram": self.ngram, "scheme": SCHEME}

    def hashes(self, text: str) -> np.ndarray:
        return self._morph.hashes(text) if self._morph else char_shingle_hashes(text, self.ngram)

    def signature(self, text: str) -> np.ndarray:
        return signature_of_hashes(self.hashes(text), self.a, self.b)

    def lean(self, sig: np.ndarray):
        """A datasketch ``LeanMinHash`` holding ``sig`` (for its LSH index or ``jaccard``)."""
        from datasketch import LeanMinHash

        return LeanMinHash(seed=self.seed, hashvalues=sig, scheme=SCHEME)

    def signature_table(self, docs: pa.Table) -> pa.Table:
        """SIGNATURE_SCHEMA rows for every document of ``docs`` (a partition's kept table)."""
        cols = {name: docs.column(name).to_pylist() if name in docs.column_names else [None] * docs.num_rows for name in SIGNATURE_SCHEMA.names[:-1]}
        sigs = [self.signature(t or "").tobytes() for t in docs.column("text").to_pylist()]
        return pa.table({**cols, "signature": sigs}, schema=SIGNATURE_SCHEMA)


def signature_from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.uint32)
