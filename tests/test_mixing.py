"""Mixing plans and shard plans on real documents (chABSA filings, counted with the sample sentencepiece
model and with a byte-level BPE tokenizer.json); no Ray."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from corpus.document import make_doc_id, sha256_hex
from corpus.pipeline.spec import SpecError, load_spec
from corpus.tokens.tokenizer import load_tokenizer
from corpus.tokens.mixing import plan_mix, source_targets
from corpus.tokens.shards import plan_shards, token_window

from conftest import SAMPLE_MODEL, write_spec


def chabsa_docs(shared, model):
    """(doc_id, source, n_tokens) per chABSA filing, counted with ``model``; source = its 17-industry category."""
    out = []
    texts, meta = [], []
    for f in sorted((shared / "finance" / "chabsa").glob("*.json")):
        doc = json.loads(f.read_text(encoding="utf-8"))
        text = "\n".join(s["sentence"] for s in doc["sentences"])
        texts.append(text)
        meta.append((make_doc_id(f"file:{f}", sha256_hex(f.read_bytes())), doc["header"]["category17"]))
    counts = load_tokenizer(model).count(texts)
    for (doc_id, source), n in zip(meta, counts):
        out.append((doc_id, source, n))
    return out


@pytest.fixture(scope="module", params=["sentencepiece", "huggingface"])
def docs(request, shared):
    """Every mixing and shard-plan test runs on counts of both kinds of tokenizer."""
    model = SAMPLE_MODEL if request.param == "sentencepiece" else request.getfixturevalue("bpe_model")
    return chabsa_docs(shared, model)


def _cols(docs):
    return [d[0] for d in docs], [d[1] for d in docs], [d[2] for d in docs]


def test_epoch_weights_repeat_or_thin_each_source(docs):
    ids, sources, tokens = _cols(docs)
    weights = {"銀行": 2.0, "機械": 0.5, "小売": 0.0, "情報通信・サービスその他": 2.5}
    copies, report = plan_mix(ids, sources, tokens, weights, default_weight=1.0)
    by_source: dict[str, list[int]] = {}
    for s, k in zip(sources, copies):
        by_source.setdefault(s, []).append(k)
    assert set(by_source["銀行"]) == {2}  # two whole passes
    assert set(by_source["小売"]) == {0} and report["小売"].downsampled_docs == len(by_source["小売"])
    assert set(by_source["情報通信・サービスその他"]) == {2, 3}  # two passes and part of a third
    assert set(by_source["建設・資材"]) == {1}  # unlisted: default weight 1
    assert set(by_source["機械"]) == {0, 1}
    largest = max(tokens)
    for source, m in report.items():
        assert abs(m.selected_tokens - round(m.available_tokens * m.weight)) <= largest
        assert m.selected_tokens == sum(n * k for s, n, k in zip(sources, tokens, copies) if s == source)
        assert m.epochs == pytest.approx(m.selected_tokens / m.available_tokens, abs=1e-6)


def test_budget_weights_split_the_target_in_proportion(docs):
    ids, sources, tokens = _cols(docs)
    target = 300_000
    weights = {s: (3.0 if s == "銀行" else 1.0) for s in set(sources)}
    copies, report = plan_mix(ids, sources, tokens, weights, target_tokens=target)
    total_w = sum(weights.values())
    largest = max(tokens)
    for source, m in report.items():
        assert m.target_tokens == round(target * weights[source] / total_w)
        assert abs(m.selected_tokens - m.target_tokens) <= largest
    assert abs(sum(m.selected_tokens for m in report.values()) - target) <= largest * len(report)
    assert report["銀行"].repeated_docs > 0 and report["情報通信・サービスその他"].downsampled_docs > 0


def test_mixing_is_deterministic_independent_of_arrival_order_and_seeded(docs):
    ids, sources, tokens = _cols(docs)
    weights = {"情報通信・サービスその他": 0.5}
    a, _ = plan_mix(ids, sources, tokens, weights, seed=1)
    rev, _ = plan_mix(ids[::-1], sources[::-1], tokens[::-1], weights, seed=1)
    assert a == rev[::-1]
    b, _ = plan_mix(ids, sources, tokens, weights, seed=2)
    assert a != b and sum(a) > 0 and sum(b) > 0


def test_source_targets_modes():
    assert source_targets({"a": 100, "b": 300}, {"a": 3.0}, 1.0, None) == {"a": 300, "b": 300}
    assert source_targets({"a": 100, "b": 300}, {"a": 3.0}, 1.0, 1000) == {"a": 750, "b": 250}


def test_upsampled_copies_share_a_split_and_shards_keep_the_window(docs):
    ids, sources, tokens = _cols(docs)
    copies, _ = plan_mix(ids, sources, tokens, {"銀行": 3.0})
    plans = plan_shards(ids, tokens, 20_000, 0.05, seed=5, validation_fraction=0.1, copies=copies)
    lo, hi = token_window(20_000, 0.05)
    split_of_doc: dict[str, set[str]] = {}
    rows = Counter()
    for p in plans:
        for doc_id, copy, _ in p.rows:
            split_of_doc.setdefault(doc_id, set()).add(p.split)
            rows[doc_id] += 1
    assert all(len(s) == 1 for s in split_of_doc.values())
    assert rows == Counter({d: k for d, k in zip(ids, copies) if k})
    for split in ("train", "validation"):
        mine = [p for p in plans if p.split == split]
        assert [p.index for p in mine] == list(range(len(mine)))
        assert all(lo <= p.tokens <= hi or (len(p.rows) == 1 and p.tokens > hi) for p in mine[:-1])


@pytest.mark.parametrize(
    "extra,expected",
    [
        ('[mixing.weights]\n"nope" = 1.0\n', "mixing.weights: unknown source(s) ['nope']"),
        ('[mixing.weights]\n"egov" = -1.0\n', "weights must be >= 0"),
        ('[mixing]\ndefault_weight = 0\n', "every source has weight 0"),
        ("[mixing]\ntarget_tokens = 0\n", "mixing.target_tokens"),
        ("[shards]\ntolerance = 1.5\n", "shards.tolerance"),
        ("[shards]\nvalidation_fraction = 1\n", "shards.validation_fraction"),
    ],
)
def test_bad_mixing_and_shard_settings_fail_before_any_work(tmp_path, shared, extra, expected):
    spec = write_spec(tmp_path / "spec.toml", [(shared / "law_html/egov_2025_utf8", "egov", "LicenseRef-x")], extra)
    with pytest.raises(SpecError) as err:
        load_spec(spec)
    assert expected in str(err.value)
