"""`corpus stats DIR`: documents and tokens of a finished run by source, licence, document type, year
and split, from a few shard columns (never the text), on a local run and the same run on S3.

The run: the FSA sample filing (period 2024-04-01/2025-03-31), the 230 chABSA filings (no period,
no fetch time) and the sample's 2015 WARC crawl of law pages (fetch time 2015), through the
finance-filings profile. The expected figures are computed here from the whole shards.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter, defaultdict

import pyarrow.parquet as pq
import pytest

from corpus.cli import main
from corpus.pipeline.runner import run_pipeline
from corpus.pipeline.spec import load_spec

from api_server import filing_zip
from conftest import REPO, SAMPLE_DATA, write_spec
from s3_server import S3Server, corpus_env


@pytest.fixture(scope="module")
def run(shared, tmp_path_factory, ray_local):
    tmp = tmp_path_factory.mktemp("stats")
    (tmp / "edinet").mkdir()
    (tmp / "edinet" / "S100X991.zip").write_bytes(filing_zip(shared))
    spec = write_spec(tmp / "spec.toml", [
        (tmp / "edinet", "edinet-filings", "LicenseRef-JP-ThirdParty"),
        (shared / "finance/chabsa", "chabsa", "CC-BY-4.0"),
        (SAMPLE_DATA / "warc/law-egov-2015.warc.gz", "lawegov-crawl-2015", "LicenseRef-JP-Copyright-Art13"),
    ], extra='[quality]\nprofile = "finance-filings"\n[shards]\ntarget_tokens = 200000\nvalidation_fraction = 0.1\n'
             '[license_policy]\nallowed = ["LicenseRef-JP-ThirdParty", "CC-BY-4.0", "LicenseRef-JP-Copyright-Art13"]\n')
    out = tmp / "out"
    run_pipeline(load_spec(spec), out)
    return out


def expected(out) -> dict:
    rows = []
    for path in sorted((out / "shards").glob("*.parquet")):
        split = path.name.split("-")[0]
        rows += [{**r, "split": split} for r in pq.read_table(path).to_pylist()]
    groups: dict[str, dict[str, Counter]] = {g: defaultdict(Counter) for g in ("source", "license", "doc_type", "year", "split")}
    for r in rows:
        year = (r["period"] or "").split("/")[-1][:4] or (r["fetch_time"] or "")[:4] or "unknown"
        for g, key in (("source", r["source"]), ("license", r["license"]), ("doc_type", r["doc_type"] or "(none)"),
                       ("year", year), ("split", r["split"])):
            groups[g][key]["documents"] += 1
            groups[g][key]["tokens"] += r["n_tokens"]
    return {"documents": len(rows), "tokens": sum(r["n_tokens"] for r in rows),
            "train_only_documents": sum(1 for r in rows if not r["redistribute_ok"]),
            **{f"by_{g}": {k: dict(v) for k, v in d.items()} for g, d in groups.items()}}


def test_stats_count_documents_and_tokens_by_group_without_reading_text(run, capsys, monkeypatch):
    read_columns = []
    original = pq.ParquetFile.iter_batches

    def spy(self, *args, **kwargs):
        read_columns.append(kwargs.get("columns"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    assert main(["stats", str(run), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert read_columns and all(cols and "text" not in cols for cols in read_columns)
    want = expected(run)
    for key in ("documents", "tokens", "train_only_documents"):
        assert stats[key] == want[key]
    for g in ("source", "license", "doc_type", "year", "split"):
        assert stats[f"by_{g}"] == want[f"by_{g}"], g
    # the three inputs land where they should: filings in 2025 (period end) or no year, the crawl in 2015
    assert set(stats["by_year"]) <= {"2025", "2015", "unknown"} and "2015" in stats["by_year"]
    assert stats["by_doc_type"]["有価証券報告書"]["documents"] > 200
    assert stats["manifest"]["accounting_ok"] is True and stats["manifest"]["kept"] == stats["documents"]
    # the text view: totals line, then a table per grouping
    assert main(["stats", str(run)]) == 0
    text = capsys.readouterr().out
    assert f"{stats['documents']:,} documents, {stats['tokens']:,} tokens" in text
    for heading in ("source", "licence", "document type", "year", "split"):
        assert any(line.startswith(heading) and "documents" in line for line in text.splitlines())
    assert "有価証券報告書" in text and "LicenseRef-JP-ThirdParty" in text


def test_stats_on_an_object_store_run_match_the_local_run(run, capsys, tmp_path):
    assert main(["stats", str(run), "--json"]) == 0
    local = json.loads(capsys.readouterr().out)
    server = S3Server()
    try:
        server.make_bucket("corpus")
        server.upload(run, "corpus/run")
        proc = subprocess.run([sys.executable, "-m", "corpus.cli", "stats", "s3://corpus/run", "--json"], cwd=REPO,
                              env=corpus_env(server.env()), capture_output=True, text=True, timeout=300)
    finally:
        server.stop()
    assert proc.returncode == 0, proc.stderr[-2000:]
    remote = json.loads(proc.stdout)
    assert remote.pop("run") == "s3://corpus/run" and {k: v for k, v in local.items() if k != "run"} == remote
    # not a run directory: a usage error
    assert main(["stats", str(tmp_path / "missing")]) == 2
