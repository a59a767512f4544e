"""Character n-gram overlap between documents and evaluation items, against an index built once.

Japanese text has no word boundaries, so overlap is measured in character n-grams of a matching
form of the text: each character folded to the letter or digit of its NFKC form, lower case, and
everything else dropped (punctuation, spaces and line breaks: a quote re-punctuated or re-wrapped
still matches). An evaluation item is found in a document when at least ``min_overlap`` of the
item's distinct n-grams occur in the document (and at least ``min_ngrams`` of them): a quote or a
light paraphrase covers most of an item, while a boilerplate phrase the item shares with ordinary
filings (当連結会計年度におけるわが国経済は...) covers a small part of it. n-grams shared by more
than ``max_item_frequency`` items are boilerplate of the evaluation set itself and are not indexed.
docs/decontamination.md has the measurement behind the defaults.

The index is built once, on the driver, into the run's work directory: a sorted ``uint64`` array of
n-gram hashes with the item of each entry, which every worker memory-maps (``np.load(mmap_mode="r")``),
so 10^5 items cost each worker page cache, not a copy. Its directory name is the hash of the sets'
bytes and the index parameters, so a changed set builds a new index.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import unicodedata
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from corpus.filters.eval_sets import EvalSet
from corpus.io.hashing import object_sha256

#: Evidence per match: at most this many characters of matched text.
MAX_MATCHED_CHARS = 200

_TABLE_SIZE = 0x30000  # BMP and the CJK extension planes; beyond it code points match as they are


@lru_cache(maxsize=1)
def _fold_tables() -> tuple[np.ndarray, np.ndarray]:
    """Per code point: kept in the matching form, and what it folds to: the (first) letter or digit
    of its NFKC form, lower-cased (Ａ -> a, ｶ -> カ, ㈱ -> 株, ① -> 1); code points with no letter or
    digit in their NFKC form are dropped. The same per-character fold is applied to documents and
    items, so a verbatim quote matches whatever normalisation the document went through. Built once
    per process (about 0.1 s)."""
    keep = np.zeros(_TABLE_SIZE, dtype=bool)
    fold = np.arange(_TABLE_SIZE, dtype=np.uint32)
    for cp in range(_TABLE_SIZE):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        alnum = [ch for ch in unicodedata.normalize("NFKC", chr(cp)).lower() if ch.isalnum()]
        if alnum:
            keep[cp] = True
            fold[cp] = ord(alnum[0])
    return keep, fold


def matching_form(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The matching form's code points and, for each, its index in ``text`` (to cut spans out)."""
    cps = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    keep, fold = _fold_tables()
    inside = cps < _TABLE_SIZE
    mask = np.where(inside, keep[np.minimum(cps, _TABLE_SIZE - 1)], True)
    pos = np.flatnonzero(mask)
    kept = cps[pos]
    return np.where(kept < _TABLE_SIZE, fold[np.minimum(kept, _TABLE_SIZE - 1)], kept), pos


_P = np.uint64(0x100000001B3)


def ngram_hashes(cps: np.ndarray, n: int) -> np.ndarray:
    """64-bit hash of every character n-gram (polynomial, then splitmix64-finalised), in order."""
    m = len(cps) - n + 1
    if m <= 0:
        return np.empty(0, dtype=np.uint64)
    wide = cps.astype(np.uint64)
    h = np.zeros(m, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * _P + wide[k : k + m]
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return h


# --- the index --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Method:
    """The matching parameters (DecontaminationSpec without the sets)."""

    ngram: int = 13
    min_overlap: float = 0.3
    min_ngrams: int = 20
    max_item_frequency: int = 10


def index_key(sets: list[EvalSet], method: Method) -> str:
    """What an index depends on: the sets' names, fields and bytes, the n-gram length and the
    common-n-gram cut (not the decision thresholds, which apply at lookup)."""
    return object_sha256({
        "format": 1,
        "ngram": method.ngram,
        "max_item_frequency": method.max_item_frequency,
        "sets": [[s.name, s.text_field, s.id_field, s.sha256()] for s in sets],
    })


@dataclass
class IndexArrays:
    """An index in memory: distinct (hash, item) entries sorted by hash, without the common n-grams."""

    hashes: np.ndarray
    items: np.ndarray
    item_ngrams: np.ndarray  # indexed n-grams per item
    common: np.ndarray  # the n-grams dropped as the sets' own boilerplate, sorted
    item_sets: list[str]
    item_ids: list[str]


def index_arrays(sets: list[EvalSet], method: Method) -> IndexArrays:
    names, ids, chunks = [], [], []
    for s in sets:
        for item_id, text in s.items():
            names.append(s.name)
            ids.append(item_id)
            chunks.append(matching_form(text)[0])
    hashes, items = _item_ngrams(chunks, method.ngram)
    pairs = np.unique(np.stack([hashes, items.astype(np.uint64)]), axis=1)  # distinct (hash, item), sorted by hash
    h, it = pairs[0], pairs[1].astype(np.uint32)
    uniq, freq = np.unique(h, return_counts=True)
    common = np.repeat(freq > method.max_item_frequency, freq)
    h, it = h[~common], it[~common]
    per_item = np.bincount(it, minlength=len(ids)).astype(np.uint32)
    return IndexArrays(h, it, per_item, uniq[freq > method.max_item_frequency], names, ids)


def detectable_items(arrays: IndexArrays, method: Method) -> dict[str, int]:
    """Per set, the items a document can be found to contain: those with at least ``min_ngrams``
    indexed n-grams. Shorter items (headings, stock phrases) are never matched, by design."""
    out = {name: 0 for name in arrays.item_sets}
    for name, n in zip(arrays.item_sets, arrays.item_ngrams):
        out[name] += int(n >= method.min_ngrams)
    return out


def local_index_dir(location: str) -> Path:
    """A local directory holding the index at ``location``: itself when local, else a copy kept in
    the temp directory (an object-store index cannot be memory-mapped where it is)."""
    from corpus.io import storage

    if not storage.is_uri(location):
        return Path(location)
    local = Path(tempfile.gettempdir()) / "corpus-decontamination" / storage.basename(location)
    if not (local / "meta.json").is_file():
        tmp = local.parent / f".{local.name}.tmp-{uuid.uuid4().hex}"
        tmp.mkdir(parents=True)
        for loc, _ in storage.walk(location).files:
            (tmp / storage.basename(loc)).write_bytes(storage.read_bytes(loc))
        try:
            os.replace(tmp, local)
        except OSError:  # another worker copied it first
            shutil.rmtree(tmp, ignore_errors=True)
    return local


def build_index(sets: list[EvalSet], method: Method, root: Path) -> Path:
    """Build (or reuse) the index under ``root/<index_key>/`` and return that directory.

    Written to a temporary directory and renamed into place, so a worker never sees half an index.
    """
    final = root / index_key(sets, method)
    if (final / "meta.json").is_file():
        return final
    a = index_arrays(sets, method)
    tmp = root / f".{final.name}.tmp-{uuid.uuid4().hex}"
    tmp.mkdir(parents=True)
    np.save(tmp / "hashes.npy", a.hashes)
    np.save(tmp / "items.npy", a.items)
    np.save(tmp / "item_ngrams.npy", a.item_ngrams)
    np.save(tmp / "common.npy", a.common)
    np.save(tmp / "prefilter.npy", prefilter_bits(a.hashes))
    pq.write_table(pa.table({"set": pa.array(a.item_sets, pa.string()), "item_id": pa.array(a.item_ids, pa.string())}), tmp / "items.parquet")
    meta = {
        "ngram": method.ngram,
        "max_item_frequency": method.max_item_frequency,
        "items": len(a.item_ids),
        "ngrams": int(len(a.hashes)),
        "common_ngrams_dropped": int(len(a.common)),
        "items_without_ngrams": int((a.item_ngrams == 0).sum()),
    }
    (tmp / "meta.json").write_text(json.dumps(meta, sort_keys=True), encoding="utf-8")
    try:
        os.replace(tmp, final)
    except OSError:  # another driver built the same index first: it is the same content
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _item_ngrams(chunks: list[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Every n-gram hash of every item with its item number, hashed over one concatenation
    (n-grams that would cross two items are dropped)."""
    if not chunks:
        return np.empty(0, np.uint64), np.empty(0, np.uint32)
    allc = np.concatenate(chunks)
    owner = np.repeat(np.arange(len(chunks), dtype=np.uint32), [len(c) for c in chunks])
    h = ngram_hashes(allc, n)
    if len(h) == 0:
        return h, np.empty(0, np.uint32)
    whole = owner[: len(h)] == owner[n - 1 :]
    return h[whole], owner[: len(h)][whole]


def _unique_counts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and their counts, by sorting (faster than ``np.unique`` here)."""
    x = np.sort(x)
    if len(x) == 0:
        return x, np.empty(0, np.int64)
    starts = np.flatnonzero(np.concatenate(([True], x[1:] != x[:-1])))
    return x[starts], np.diff(np.append(starts, len(x)))


def _member(sorted_values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``np.isin(x, sorted_values)`` for an already sorted array, by binary search."""
    if len(sorted_values) == 0:
        return np.zeros(len(x), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_values, x), len(sorted_values) - 1)
    return sorted_values[at] == x


def prefilter_bits(hashes: np.ndarray) -> np.ndarray:
    """A bit per value of the hashes' top ``b`` bits (about 16 bits per indexed n-gram, so ~6% of
    absent n-grams pass): one memory access rejects almost every n-gram of a clean document
    before the binary search."""
    b = int(min(30, max(16, np.ceil(np.log2(max(len(hashes), 1) * 16)))))
    bits = np.zeros(1 << b, dtype=bool)
    bits[hashes >> np.uint64(64 - b)] = True
    return np.packbits(bits, bitorder="little")


class Index:
    """A built index, memory-mapped (read-only pages shared by every worker on a machine)."""

    def __init__(self, path: Path):
        self.path = path
        self.hashes = np.load(path / "hashes.npy", mmap_mode="r")
        self.items = np.load(path / "items.npy", mmap_mode="r")
        self.item_ngrams = np.load(path / "item_ngrams.npy", mmap_mode="r")
        self.common = np.load(path / "common.npy")
        self.prefilter = np.load(path / "prefilter.npy", mmap_mode="r")
        self._shift = np.uint64(64 - int(np.log2(len(self.prefilter) * 8)))
        table = pq.read_table(path / "items.parquet")
        self.sets = table.column("set").to_pylist()
        self.item_ids = table.column("item_id").to_pylist()

    def lookup(self, doc_hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Where the document's n-grams hit the index: ``(positions, their hashes)`` of every hit,
        and every distinct (hash, item) pair found, as two aligned arrays."""
        top = doc_hashes >> self._shift
        maybe = np.flatnonzero((np.asarray(self.prefilter[top >> np.uint64(3)]) >> (top & np.uint64(7)).astype(np.uint8)) & 1)
        order = np.argsort(doc_hashes[maybe], kind="stable")  # sorted queries: the binary searches share cache lines
        maybe = maybe[order]
        hh = doc_hashes[maybe]
        lo = np.searchsorted(self.hashes, hh, "left")
        ok = lo < len(self.hashes)
        ok[ok] = np.asarray(self.hashes[lo[ok]]) == hh[ok]
        positions, hh, lo = maybe[ok], hh[ok], lo[ok]
        if len(hh) == 0:
            empty = np.empty(0, np.uint64)
            return positions, hh, empty, np.empty(0, np.uint32)
        first = np.flatnonzero(np.concatenate(([True], hh[1:] != hh[:-1])))
        uh, lo = hh[first], lo[first]
        width = np.searchsorted(self.hashes, uh, "right") - lo
        starts = np.repeat(lo - np.concatenate(([0], np.cumsum(width)[:-1])), width)
        entry = starts + np.arange(width.sum())
        return positions, hh, np.repeat(uh, width), np.asarray(self.items[entry])


@dataclass(frozen=True)
class Match:
    set: str
    item_id: str
    overlap: float
    ngrams: int
    spans: tuple[tuple[int, int], ...]  # character ranges of the document the item's n-grams cover

    def evidence(self, text: str) -> dict[str, Any]:
        start, end = max(self.spans, key=lambda s: s[1] - s[0])
        matched = text[start:end]
        return {
            "set": self.set, "item": self.item_id, "overlap": round(self.overlap, 4), "ngrams": self.ngrams,
            "matched": matched[:MAX_MATCHED_CHARS] + ("…" if len(matched) > MAX_MATCHED_CHARS else ""),
        }


def _spans(positions: np.ndarray, common: np.ndarray, pos: np.ndarray, n: int) -> tuple[tuple[int, int], ...]:
    """Character ranges covered by the item's n-grams starting at ``positions`` (matching-form
    indices). Runs closer than ``n`` apart merge, so the edited word of a paraphrase goes with its
    item, and so do the set's common n-grams next to them (an item's opening 当連結会計年度における
    is common to hundreds of items, so it is not indexed, but it is part of the quote)."""
    starts = np.concatenate((positions, common)).astype(np.int64)
    own = np.concatenate((np.ones(len(positions), bool), np.zeros(len(common), bool)))
    order = np.argsort(starts, kind="stable")
    starts, own = starts[order], own[order]
    # Every n-gram spans n characters, so a run continues while the next start is within 2n - 1.
    first = np.flatnonzero(np.concatenate(([True], np.diff(starts) > 2 * n - 1)))
    last = np.append(first[1:], len(starts)) - 1
    has_own = np.add.reduceat(own.astype(np.int64), first) > 0
    return tuple((int(pos[starts[a]]), int(pos[starts[b] + n - 1]) + 1) for a, b in zip(first[has_own], last[has_own]))


def find_matches(text: str, index: Index, method: Method, limit: int | None = None) -> list[Match]:
    """The evaluation items found in ``text``, strongest first: all of them, or the first ``limit``
    (spans are worked out only for those: a statute that holds hundreds of items costs five)."""
    cps, pos = matching_form(text)
    h = ngram_hashes(cps, method.ngram)
    if len(h) == 0:
        return []
    hit_pos, hit_hash, pair_hash, pair_item = index.lookup(h)
    if len(pair_item) == 0:
        return []
    items, counts = _unique_counts(pair_item)
    totals = np.asarray(index.item_ngrams)[items]
    overlap = counts / np.maximum(totals, 1)
    hit = (overlap >= method.min_overlap) & (counts >= method.min_ngrams)
    if not hit.any():
        return []
    common = np.flatnonzero(_member(index.common, h))
    order = np.argsort(pair_item, kind="stable")
    by_item = np.split(pair_hash[order], np.cumsum(counts)[:-1])
    ranked = sorted(np.flatnonzero(hit), key=lambda k: (-overlap[k], -counts[k], index.sets[items[k]], index.item_ids[items[k]]))
    out = []
    for k in ranked[:limit]:
        starts = hit_pos[_member(by_item[k], hit_hash)]  # an item's hashes come out sorted
        out.append(Match(index.sets[items[k]], index.item_ids[items[k]], float(overlap[k]), int(counts[k]), _spans(starts, common, pos, method.ngram)))
    return out
