"""The locator patterns in manifests/ are generated from the reader registry and must match it."""

from __future__ import annotations

import json
import re

from corpus.resources import resource_dir
from corpus.sources import registry
from corpus.sources.locator_schema import ROW_SCHEMAS, main, regenerated, stale_schemas


def test_schema_files_hold_the_registry_pattern():
    assert stale_schemas() == {}, "run: python -m corpus.sources.locator_schema"
    for name in ROW_SCHEMAS:
        schema = json.loads((resource_dir("manifests") / name).read_text(encoding="utf-8"))
        assert schema["properties"]["locator"]["pattern"] == registry.locator_pattern()


def test_pattern_accepts_every_reader_locator_and_refuses_others():
    pattern = re.compile(registry.locator_pattern())
    good = ["warc:crawl/a.warc.gz#123", "warc:crawl/a.warc.gz#123/121215254X00920231206", "warc:crawl/a.warc.gz",
            "file:pages/a.html", "jsonl:d/x.jsonl#7", "parquet:p.parquet#0", "law:laws/x.xml#405AC0000000088@20240401_x",
            "kokkai:k/1.xml#100105291X00119470728", "pdf:docs/a.pdf", "warc:s3://bucket/x.warc.gz#0"]
    bad = ["http://x", "warc:a#x1", "jsonl:a#b", "law:a#noat", "nosuch:a", "pdf:a#1", "warc:a#1#2"]
    assert all(pattern.match(x) for x in good), [x for x in good if not pattern.match(x)]
    assert not any(pattern.match(x) for x in bad), [x for x in bad if pattern.match(x)]


def test_generator_rewrites_a_stale_file_and_check_mode_reports_it(tmp_path, capsys):
    for name in ROW_SCHEMAS:
        text = (resource_dir("manifests") / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(regenerated(text, "^(file):"), encoding="utf-8")
    assert main(["--check", "--dir", str(tmp_path)]) == 1
    assert "stale locator pattern" in capsys.readouterr().out
    assert main(["--dir", str(tmp_path)]) == 0 and stale_schemas(tmp_path) == {}
    for name in ROW_SCHEMAS:  # only the pattern changed
        assert (tmp_path / name).read_text(encoding="utf-8") == (resource_dir("manifests") / name).read_text(encoding="utf-8")
