"""Decontamination against chABSA: quotes and light paraphrases removed, shared boilerplate kept.

The labelled documents (tests/contamination_docs.py) are real text: statute excerpts with chABSA
sentences pasted in, the same with one sentence edited, and real filings that are not in the
evaluation set but share its stock phrases. No Ray here; tests/test_training_run.py runs the stage
inside the pipeline.
"""

from __future__ import annotations

import csv
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.filters.decontaminate import REASON, SPANS_COLUMN, DecontaminateStage, decontamination_record, removal_counts
from corpus.filters.eval_sets import EvalSet, EvalSetError
from corpus.filters.overlap_index import Method, build_index, matching_form
from corpus.pipeline.spec import SpecError, load_spec

from conftest import write_spec
from contamination_docs import labelled_docs, truly_contaminated, write_eval_set


@pytest.fixture(scope="module")
def chabsa(shared, tmp_path_factory):
    work = tmp_path_factory.mktemp("decontam")
    items = write_eval_set(shared, work / "chabsa.jsonl")
    eval_set = EvalSet("chabsa", work / "chabsa.jsonl", "text", "id")
    docs = labelled_docs(shared, items)
    table = pa.table({
        "doc_id": [d.name for d in docs], "locator": [f"test:{d.name}" for d in docs], "text": [d.text for d in docs],
        "text_sha256": ["x"] * len(docs), "n_chars": [len(d.text) for d in docs],
    })
    return work, items, eval_set, docs, table


def _stage(work, eval_set, action="reject", method=Method()):
    return DecontaminateStage(str(build_index([eval_set], method, work / "index")), method, action)


def _squash(text):
    return "".join(chr(c) for c in matching_form(text)[0])


def test_quotes_and_paraphrases_are_rejected_boilerplate_is_kept(chabsa):
    work, items, eval_set, docs, table = chabsa
    out = _stage(work, eval_set).process(table)
    rejected = {r["doc_id"]: r for r in out.rejected.to_pylist()}
    kind = {d.name: d for d in docs}
    truth = {d.name: truly_contaminated(d, items) for d in docs}
    quotes = [d for d in docs if d.kind == "quote"]
    paraphrases = [d for d in docs if d.kind == "paraphrase"]
    assert len(quotes) == len(paraphrases) == 115
    assert all(d.name in rejected for d in quotes)
    assert sum(d.name in rejected for d in paraphrases) >= 0.9 * len(paraphrases)
    assert not any(kind[n].kind == "unrelated" for n in rejected)
    # Precision on the labelled set (measured 0.978, docs/decontamination.md); most filings that share
    # the genre's phrases with chABSA are kept.
    true_pos = sum(truth[n] for n in rejected)
    assert true_pos / len(rejected) >= 0.95
    boiler = [d for d in docs if d.kind == "boilerplate" and not truth[d.name]]
    assert sum(d.name in rejected for d in boiler) <= 0.06 * len(boiler) and len(boiler) >= 90
    assert out.kept.num_rows + out.rejected.num_rows == table.num_rows


def test_a_rejection_names_set_item_and_matched_text(chabsa):
    work, items, eval_set, docs, table = chabsa
    by_text = {i["id"]: i["text"] for i in items}
    sel = [i for i, d in enumerate(docs) if d.kind == "quote"][:10]
    out = _stage(work, eval_set).process(table.take(pa.array(sel)))
    rows = {r["doc_id"]: r for r in out.rejected.to_pylist()}
    for i in sel:
        d, row = docs[i], rows[docs[i].name]
        assert row["stage"] == "decontaminate" and row["reason"] == REASON and row["rule"] == "chabsa"
        assert row["value"] >= row["threshold"] == Method().min_overlap
        matches = json.loads(row["detail"])
        for m in matches:
            assert m["matched"].rstrip("…") in d.text  # the matched text is the document's own text
        for planted in d.planted:
            m = next(m for m in matches if m["item"] == planted)
            assert m["overlap"] == 1.0
            assert _squash(by_text[planted]) in _squash(m["matched"]) or m["matched"].endswith("…")


def test_remove_span_cuts_the_items_and_keeps_the_rest(chabsa):
    work, items, eval_set, docs, table = chabsa
    by_id = {i["id"]: i["text"] for i in items}
    sel = [i for i, d in enumerate(docs) if d.kind in ("quote", "unrelated")]
    part = table.take(pa.array(sel))
    out = _stage(work, eval_set, "remove_span").process(part)
    assert out.rejected.num_rows == 0 and out.kept.num_rows == len(sel)
    for i, row in zip(sel, out.kept.to_pylist()):
        d = docs[i]
        if d.kind == "unrelated":
            assert row["text"] == d.text and row[SPANS_COLUMN] is None
            continue
        body = _squash(row["text"])
        assert all(_squash(by_id[p]) not in body for p in d.planted)
        statute_head = d.text.split("\n")[0]
        assert statute_head in row["text"]  # the document around the quote stays
        assert len(row["text"]) < len(d.text) and row["n_chars"] == len(row["text"]) and row["text_sha256"] != "x"
        assert set(d.planted) <= {m["item"] for m in json.loads(row[SPANS_COLUMN])}


def test_the_index_is_built_once_and_keyed_by_content(chabsa, tmp_path):
    work, items, eval_set, docs, table = chabsa
    a = build_index([eval_set], Method(), tmp_path)
    stamp = (a / "hashes.npy").stat().st_mtime_ns
    assert build_index([eval_set], Method(min_overlap=0.9), tmp_path) == a  # thresholds apply at lookup
    assert (a / "hashes.npy").stat().st_mtime_ns == stamp
    assert build_index([eval_set], Method(ngram=10), tmp_path) != a
    changed = tmp_path / "changed.jsonl"
    changed.write_text(eval_set.path.read_text(encoding="utf-8") + json.dumps({"id": "new", "text": "追加の評価項目です。" * 5}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert build_index([EvalSet("chabsa", changed, "text", "id")], Method(), tmp_path) != a
    meta = json.loads((a / "meta.json").read_text())
    assert meta["items"] == len(items) and meta["ngrams"] > 100_000


def test_short_items_are_never_found_and_the_record_says_how_many_can_be(chabsa, tmp_path):
    work, items, eval_set, docs, table = chabsa
    short = next(i for i in items if 20 <= len(_squash(i["text"])) < 30)  # fewer than min_ngrams 13-grams
    long = next(i for i in items if len(_squash(i["text"])) > 60)
    doc = "前置きの文章。" + short["text"] + "。" + long["text"] + "。"
    table = pa.table({"doc_id": ["d"], "locator": ["test:d"], "text": [doc], "text_sha256": ["x"], "n_chars": [len(doc)]})
    row = _stage(work, eval_set).process(table).rejected.to_pylist()[0]
    assert [m["item"] for m in json.loads(row["detail"])] == [long["id"]]
    rec = decontamination_record(
        {"method": "ngram_overlap", "ngram": 13, "min_overlap": 0.3, "min_ngrams": 20, "max_item_frequency": 10, "action": "reject", "sets": []},
        [eval_set], removal_counts([{**row, "stage": "decontaminate"}], []),
    )
    s = rec["sets"][0]
    long_enough = sum(1 for i in items if len(_squash(i["text"])) >= 13 + 20 - 1)
    assert s["items"] == len(items) and 0.5 * len(items) < s["items_detectable"] <= long_enough
    assert s["documents_rejected"] == rec["documents_rejected"] == 1 and s["sha256"] == eval_set.sha256()


def test_jsonl_parquet_csv_and_a_directory_give_the_same_items(chabsa, tmp_path):
    work, items, eval_set, docs, table = chabsa
    rows = items[:50]
    d = tmp_path / "set"
    d.mkdir()
    pq.write_table(pa.Table.from_pylist(rows[:20]), d / "a.parquet")
    with open(d / "b.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, ["id", "text"])
        w.writeheader()
        w.writerows(rows[20:35])
    (d / "c.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[35:]), encoding="utf-8")
    (d / "notes.md").write_text("ignored", encoding="utf-8")
    got = list(EvalSet("s", d, "text", "id").items())
    assert got == [(r["id"], r["text"]) for r in rows]
    assert [i for i, _ in EvalSet("s", d / "c.jsonl").items()][:2] == ["c.jsonl:1", "c.jsonl:2"]


@pytest.mark.parametrize(
    "content, text_field, message",
    [
        ('{"id": 1, "text": "ok"}\n{not json\n', "text", "line 2: not JSON"),
        ('{"id": 1, "body": "x"}\n', "text", "record 1: field 'text' missing"),
        ('[1, 2]\n', "text", "record 1: not an object"),
    ],
)
def test_bad_evaluation_sets_fail_the_spec_naming_the_field(shared, tmp_path, content, text_field, message):
    bad = tmp_path / "eval.jsonl"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(EvalSetError, match=message):
        list(EvalSet("x", bad, text_field).items())
    extra = f'\n[decontamination]\n[[decontamination.sets]]\nname = "x"\npath = "{bad}"\ntext_field = "{text_field}"\n'
    spec = write_spec(tmp_path / "spec.toml", [(shared / "finance/chabsa", "c", "CC-BY-4.0")], extra)
    with pytest.raises(SpecError) as err:
        load_spec(spec)
    assert "decontamination.sets[0].path" in str(err.value) and message in str(err.value)


@pytest.mark.parametrize(
    "block, field",
    [
        ('ngram = "13"', "ngram"),
        ("min_overlap = nan", "min_overlap"),
        ("min_overlap = 0", "min_overlap"),
        ('action = "drop"', "action"),
        ("", "sets"),
    ],
)
def test_bad_decontamination_settings_name_the_field(shared, tmp_path, block, field):
    (tmp_path / "e.jsonl").write_text('{"text": "評価"}\n', encoding="utf-8")
    sets = "" if field == "sets" else f'\n[[decontamination.sets]]\nname = "e"\npath = "{tmp_path / "e.jsonl"}"\n'
    spec = write_spec(tmp_path / "spec.toml", [(shared / "finance/chabsa", "c", "CC-BY-4.0")], f"\n[decontamination]\n{block}\n{sets}")
    with pytest.raises(SpecError) as err:
        load_spec(spec)
    assert f"decontamination.{field}" in str(err.value)
