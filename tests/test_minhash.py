"""MinHash signatures and LSH banding against datasketch, on real Japanese law text."""

from __future__ import annotations

import random
from collections import defaultdict

import numpy as np
import pyarrow as pa
import pytest
from datasketch import MinHash, MinHashLSH

from corpus.dedup.lsh import band_keys, collision_probability
from corpus.dedup.minhash import MinHasher, SIGNATURE_SCHEMA, estimate_jaccard
from corpus.dedup.near import REASON, bucket_candidates, resolve_clusters, verified_edges
from corpus.dedup.shingles import MorphemeShingler, char_shingles, shingle_hash
from corpus.dedup.unionfind import components
from corpus.pipeline.spec import SpecError, load_spec

from conftest import write_spec

B, R = 14, 8


@pytest.fixture(scope="module")
def law_texts(shared):
    """Real law texts (UTF-8 renderings of the 2013 e-Gov pages), largest first."""
    files = sorted((shared / "law_html/lawegov_2013_sjis/text").glob("*.txt"), key=lambda p: -p.stat().st_size)
    return [p.read_text(encoding="utf-8") for p in files]


def _exact_jaccard(x: str, y: str) -> float:
    a, b = set(char_shingles(x)), set(char_shingles(y))
    return len(a & b) / len(a | b)


def _edit(text: str, rate: float, rng: random.Random) -> str:
    """Replace a share of characters with random kanji: each replacement breaks up to 5 shingles."""
    chars = list(text)
    for i in range(len(chars)):
        if rng.random() < rate:
            chars[i] = chr(rng.randrange(0x4E00, 0x9FA0))
    return "".join(chars)


def _rate_for(j: float, n: int = 5) -> float:
    """Edit rate giving Jaccard ~j: a shingle survives with q=(1-p)^n and J = q / (2 - q)."""
    return 1 - (2 * j / (1 + j)) ** (1 / n)


def test_signatures_equal_datasketch_update_batch(law_texts):
    hasher = MinHasher(B * R, seed=7)
    texts = [law_texts[5][:20000], law_texts[40], law_texts[100], "短い"]
    for text in texts:
        ours = hasher.signature(text)
        ref = MinHash(num_perm=B * R, seed=7, hashfunc=shingle_hash)
        ref.update_batch(char_shingles(text))
        assert ref.hashvalues.dtype == np.uint32
        assert np.array_equal(ours, ref.hashvalues)
        with_perms = MinHash(num_perm=B * R, hashfunc=shingle_hash, permutations=(hasher.a, hasher.b), scheme="affine32")
        with_perms.update_batch(char_shingles(text))
        assert np.array_equal(ours, with_perms.hashvalues)
    a, b = law_texts[5][:20000], _edit(law_texts[5][:20000], 0.02, random.Random(1))
    ma, mb = (MinHash(num_perm=B * R, seed=7, hashfunc=shingle_hash) for _ in range(2))
    ma.update_batch(char_shingles(a))
    mb.update_batch(char_shingles(b))
    sa, sb = hasher.signature(a), hasher.signature(b)
    assert 0.5 < ma.jaccard(mb) < 1.0
    assert estimate_jaccard(sa, sb) == ma.jaccard(mb) == hasher.lean(sa).jaccard(hasher.lean(sb))


def test_band_keys_give_the_candidates_of_datasketch_lsh(law_texts):
    hasher = MinHasher(B * R, seed=1)
    rng = random.Random(3)
    docs = {}
    for i, text in enumerate(law_texts[10:40]):
        text = text[:3000]
        docs[f"d{i}"] = text
        docs[f"d{i}e"] = _edit(text, rng.choice([0.01, 0.03, 0.06, 0.2]), rng)
    names = sorted(docs)
    sigs = np.stack([hasher.signature(docs[n]) for n in names])
    lsh = MinHashLSH(num_perm=B * R, params=(B, R))
    for n, s in zip(names, sigs):
        lsh.insert(n, hasher.lean(s))
    theirs = {tuple(sorted((n, m))) for n, s in zip(names, sigs) for m in lsh.query(hasher.lean(s)) if m != n}
    buckets = defaultdict(set)
    for n, row in zip(names, band_keys(sigs, B, R)):
        for key in row:
            buckets[int(key)].add(n)
    ours = {tuple(sorted((x, y))) for members in buckets.values() for x in members for y in members if x != y}
    assert len(theirs) >= 10 and ours == theirs


def test_detection_rate_follows_the_s_curve_and_low_pairs_are_never_merged(law_texts):
    """Pairs at known Jaccard levels: share detected ~ 1-(1-s^r)^b; below J=0.5 nothing merges."""
    hasher = MinHasher(B * R, seed=1)
    big = "".join(law_texts[:3])
    chunks = [big[i : i + 1500] for i in range(0, len(big) - 1500, 1500)]
    rng = random.Random(2024)
    rng.shuffle(chunks)
    chunk_iter = iter(chunks)
    for level in (0.55, 0.65, 0.75, 0.85):
        hits, expected, var = 0, 0.0, 0.0
        for _ in range(100):
            base = next(chunk_iter)
            other = _edit(base, _rate_for(level), rng)
            j = _exact_jaccard(base, other)
            p = collision_probability(j, B, R)
            expected += p
            var += p * (1 - p)
            keys = band_keys(np.stack([hasher.signature(base), hasher.signature(other)]), B, R)
            hits += bool((keys[0] == keys[1]).any())
        assert abs(hits - expected) <= 4 * var**0.5 + 2, (level, hits, expected)

    rows, truth = [], {}
    while len(truth) < 150:
        base = next(chunk_iter)
        other = _edit(base, _rate_for(rng.uniform(0.3, 0.48)), rng)
        i = len(truth)
        if (j := _exact_jaccard(base, other)) >= 0.5:
            continue
        truth[(f"{i:03d}a", f"{i:03d}b")] = j
        for name, text in ((f"{i:03d}a", base), (f"{i:03d}b", other)):
            rows.append({"doc_id": name, "signature": hasher.signature(text).tobytes()})
    assert max(truth.values()) < 0.5
    keys = band_keys(np.stack([np.frombuffer(r["signature"], dtype=np.uint32) for r in rows]), B, R)
    ids = np.repeat(np.arange(len(rows)), B)
    pairs = bucket_candidates(keys.reshape(-1), ids)
    sigs = {i: r["signature"] for i, r in enumerate(rows)}
    names = {i: r["doc_id"] for i, r in enumerate(rows)}
    refs = dict.fromkeys(names, False)
    brute = {(i, k) for i in range(len(rows)) for k in range(i + 1, len(rows)) if (keys[i] == keys[k]).any()}
    assert pairs == brute  # exactly the pairs sharing a band key
    assert verified_edges(pairs, sigs, names, refs, 0.5).num_rows == 0
    assert verified_edges(pairs, sigs, names, refs, 0.0).num_rows == len(pairs)  # LSH alone would have merged these


def _member(doc_id, source, n_chars, sig, fetch_time=None, reference=False):
    return {"doc_id": doc_id, "source": source, "locator": f"file:{doc_id}", "url": None, "input_path": doc_id,
            "fetch_time": fetch_time, "n_chars": n_chars, "signature": sig.tobytes(), "reference": reference}


def test_representative_rules_and_rejection_records(law_texts):
    hasher = MinHasher(B * R, seed=1)
    text = law_texts[60]
    sigs = [hasher.signature(t) for t in (text, text + "附則", _edit(text, 0.01, random.Random(5)))]
    members = {
        "a": _member("a", "mirror", len(text), sigs[0], "2015-01-01"),
        "b": _member("b", "primary", len(text) + 2, sigs[1], "2014-01-01"),
        "c": _member("c", "primary", len(text), sigs[2], "2016-01-01"),
    }
    edges = [("a", "b"), ("b", "c")]
    rank = {"primary": 0, "mirror": 1}
    rejected, sizes, hist = resolve_clusters(edges, members, "source_priority", rank, 0.5)
    rows = {r["doc_id"]: r for r in rejected.to_pylist()}
    assert set(rows) == {"a", "c"} and sizes == {"b": 3} and hist == {"3": 1}
    for d, r in rows.items():
        assert r["stage"] == "dedup_near" and r["reason"] == REASON and r["duplicate_of"] == "b"
        assert r["value"] == estimate_jaccard(hasher.signature(text if d == "a" else _edit(text, 0.01, random.Random(5))), sigs[1])
        assert r["threshold"] == 0.5
    newest, sizes, _ = resolve_clusters(edges, members, "newest", rank, 0.5)
    assert sorted(newest.column("doc_id").to_pylist()) == ["a", "b"] and set(newest.column("duplicate_of").to_pylist()) == {"c"}
    members["a"]["reference"] = True  # a document of an earlier corpus always wins and is never rejected
    ref, sizes, _ = resolve_clusters(edges, members, "source_priority", rank, 0.5)
    assert sorted(ref.column("doc_id").to_pylist()) == ["b", "c"] and set(ref.column("duplicate_of").to_pylist()) == {"a"}
    assert sizes == {}


def test_chained_cluster_removes_only_members_close_to_the_kept_one(law_texts):
    """A~B and B~C chain A and C into one component although A and C are not near duplicates:
    only B may be removed as A's duplicate; C is kept (it is checked against A, not along the chain)."""
    hasher = MinHasher(B * R, seed=1)
    base = law_texts[60][:3000]
    a, b, c = base, _edit(base, 0.05, random.Random(1)), None
    c = _edit(b, 0.05, random.Random(2))
    sig = {k: hasher.signature(t) for k, t in (("a", a), ("b", b), ("c", c))}
    j = lambda x, y: estimate_jaccard(sig[x], sig[y])  # noqa: E731
    threshold = (max(j("a", "c"), 0) + min(j("a", "b"), j("b", "c"))) / 2
    assert j("a", "b") >= threshold and j("b", "c") >= threshold > j("a", "c")
    members = {k: _member(k, "primary", 4000 - i, sig[k]) for i, k in enumerate("abc")}
    rejected, sizes, hist = resolve_clusters([("a", "b"), ("b", "c")], members, "source_priority", {"primary": 0}, threshold)
    rows = rejected.to_pylist()
    assert [(r["doc_id"], r["duplicate_of"]) for r in rows] == [("b", "a")]
    assert rows[0]["value"] == j("a", "b") >= threshold
    assert sizes == {"a": 2} and hist == {"2": 1}


def test_union_find_components_do_not_depend_on_edge_order():
    edges = [("e", "f"), ("a", "b"), ("c", "b"), ("f", "g"), ("x", "x")]
    assert components(edges) == components(list(reversed(edges))) == [["a", "b", "c"], ["e", "f", "g"]]


def test_morpheme_shingles_find_an_edited_copy(law_texts):
    text = law_texts[70][:4000]
    edited = text.replace("。", "。\n", 3).replace("規定", "定め", 1)
    hasher = MinHasher(B * R, seed=1, shingle="morpheme", ngram=3)
    assert len(MorphemeShingler(3).shingles(text)) > 100
    ref = MinHash(num_perm=B * R, seed=1, hashfunc=shingle_hash)
    ref.update_batch(MorphemeShingler(3).shingles(text))
    assert np.array_equal(ref.hashvalues, hasher.signature(text))
    assert estimate_jaccard(hasher.signature(text), hasher.signature(edited)) > 0.9
    assert estimate_jaccard(hasher.signature(text), hasher.signature(law_texts[71][:4000])) < 0.2


def test_signature_table_schema(law_texts):
    table = pa.table({"doc_id": ["x", "y"], "text": [law_texts[80], ""], "n_chars": [len(law_texts[80]), 0]})
    sigs = MinHasher(16, seed=1).signature_table(table)
    assert sigs.schema == SIGNATURE_SCHEMA and sigs.column("source").to_pylist() == [None, None]
    assert [len(s) for s in sigs.column("signature").to_pylist()] == [64, 64]


@pytest.mark.parametrize(
    "extra, expected",
    [
        ("[dedup.near]\nenabled = true\nbands = 100\nrows = 50\n", "dedup.near.rows"),
        ("[dedup.near]\nshingle = \"word\"\n", "dedup.near.shingle"),
        ("[dedup.near]\nmin_jaccard = 1.5\n", "dedup.near.min_jaccard"),
        ("[dedup.near]\nenabled = true\nreference = \"nowhere\"\n", "dedup.near.reference"),
    ],
)
def test_bad_near_settings_name_the_field(tmp_path, shared, extra, expected):
    spec = write_spec(tmp_path / "s.toml", [(shared / "near_dup/law_versions_sjis", "s", "l")], extra)
    with pytest.raises(SpecError, match=expected.replace(".", r"\.")):
        load_spec(spec)
