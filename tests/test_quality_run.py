"""One pipeline run through Ray with boilerplate, the default profile and PII redaction on."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus.pipeline.runner import run_pipeline
from corpus.pipeline.spec import SpecError, load_spec

from conftest import write_spec


@pytest.mark.parametrize(
    "extra,field",
    [('[pii]\ntypes = ["ssn"]\n', "pii.types"), ("[pii]\ntypes = []\n", "pii.types"),
     ("[boilerplate]\nmin_docs = 0\n", "boilerplate.min_docs"), ("[normalize]\njapanese_punctuation = 2\n", "normalize.japanese_punctuation")],
)
def test_bad_cleaning_settings_are_spec_errors(tmp_path, shared, extra, field):
    spec = write_spec(tmp_path / "s.toml", [(shared / "gov_html/digital_agency_note_2021", "da", "LicenseRef-x")], extra)
    with pytest.raises(SpecError) as err:
        load_spec(spec)
    assert field in str(err.value)


def test_pipeline_cleans_judges_and_redacts_real_pages(ray_local, shared, tmp_path):
    spec = write_spec(
        tmp_path / "spec.toml",
        [
            (shared / "gov_html/digital_agency_note_2021", "digital-agency-note", "LicenseRef-JP-GSTU-2.0"),
            (shared / "law_html/lawegov_2013_sjis/html/bf2a36e69d30a929.html", "lawegov", "LicenseRef-JP-Copyright-Art13"),
            (shared / "warc/commoncrawl_whirlwind/whirlwind.warc.gz", "cc", "CC-BY-SA-4.0"),
        ],
        "[boilerplate]\nenabled = true\n",
    )
    manifest = run_pipeline(load_spec(spec), tmp_path / "out").manifest
    out = Path(tmp_path / "out")
    kept = [r for f in sorted((out / "shards").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    rejected = [r for f in sorted((out / "rejected").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    assert manifest["totals"]["accounting_ok"]
    names = [s["name"] for s in manifest["stages"]]
    assert names.index("normalize") < names.index("boilerplate") < names.index("quality") < names.index("pii") < names.index("tokens")
    assert manifest["quality_profile"]["name"] == "swallow-v1"
    # The Aragonese Common Crawl page is dropped as non-Japanese, with its score.
    cc = [r for r in rejected if r["source"] == "cc"]
    assert len(cc) == 1 and cc[0]["rule"] == "min_ja_score" and cc[0]["value"] < 0.5
    # The statute and the Digital Agency articles are kept, with scores and cleaning counts as data.
    assert any(r["source"] == "lawegov" for r in kept)
    articles = [r for r in kept if r["source"] == "digital-agency-note" and "/n_" in r["locator"]]
    assert len(articles) >= 3
    assert all(r["q_noun_ratio"] is not None and r["q_ja_score"] > 0.9 for r in kept)
    assert sum(r["boilerplate_lines"] for r in articles) > 0
    assert manifest["boilerplate_lines_removed"] == sum(r["boilerplate_lines"] for r in kept)
    assert manifest["pii"] == {t: sum(r[f"pii_{t}"] for r in kept) for t in ("email", "phone", "mynumber", "card")}
    assert all("[EMAIL]" in r["text"] for r in kept if r["pii_email"])


def test_boilerplate_counts_pages_across_every_partition_and_threshold_changes_reuse_extraction(ray_local, shared, tmp_path):
    """One page per partition: repeated lines are found only if counted over the whole run, and the
    result is the stage's over all prepared documents at once. A new quality threshold then re-runs
    only the judge phase."""
    import json

    import pyarrow as pa

    from corpus.filters.boilerplate import BoilerplateStage

    inputs = [
        (shared / "gov_html/digital_agency_note_2021", "digital-agency-note", "LicenseRef-JP-GSTU-2.0"),
        (shared / "near_dup/digital_agency_note_snapshots", "digital-agency-note", "LicenseRef-JP-GSTU-2.0"),
    ]
    settings = "[boilerplate]\nenabled = true\nknown_lines = false\n[partitioning]\nmax_files = 1\n[dedup.near]\nenabled = false\n"
    spec = write_spec(tmp_path / "spec.toml", inputs, settings)
    out = tmp_path / "out"
    first = run_pipeline(load_spec(spec), out).manifest
    assert first["partitions"] == 14
    assert first["boilerplate_lines_removed"] > 0  # impossible within one-page partitions
    prepared = sorted((out / "_work" / "prepared").glob("*/kept.parquet"))
    assert len(prepared) == 14
    together = BoilerplateStage(min_docs=3, known=False).process(pa.concat_tables([pq.read_table(p) for p in prepared]))
    expected = {r["doc_id"]: (r["text"], r["boilerplate_lines"]) for r in together.kept.to_pylist()}
    kept = [r for f in sorted((out / "shards").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    assert kept and all((r["text"], r["boilerplate_lines"]) == expected[r["doc_id"]] for r in kept)
    # Five captures of one article are one page: its own paragraphs survive in the kept copy.
    article = next(r for r in kept if r["title"].startswith("デジタル庁が大切にしたい"))
    assert "神託のアカウンタビリティとアクセシビリティ" in article["text"] and article["boilerplate_lines"] <= 2

    mtimes = {p: p.stat().st_mtime_ns for p in prepared}
    stricter = write_spec(tmp_path / "spec2.toml", inputs, settings + "[quality.thresholds]\nmin_chars = 2000\n")
    again = run_pipeline(load_spec(stricter), out).manifest
    assert again["volatile"]["resumed_prepared_partitions"] == 14 and again["volatile"]["resumed_partitions"] == 0
    assert {p: p.stat().st_mtime_ns for p in prepared} == mtimes
    assert again["totals"]["kept"] < first["totals"]["kept"]
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["pipeline"]["stage_config_sha256"] != first["pipeline"]["stage_config_sha256"]
