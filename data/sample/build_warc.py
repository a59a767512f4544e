"""Rebuild data/sample/warc/law-egov-2015.warc.gz from ../shared/data (run from the repo root).

The pages are law.e-gov.go.jp captures of 銀行法 and 資金決済法 (Shift_JIS, as served in 2015);
the WARC wraps them with their real URLs and capture dates so the sample exercises the WARC
reader and the HTTP-header charset path. Output is deterministic (see corpus.sources.warc_write).
"""

from pathlib import Path

from corpus.sources.warc_write import HttpCapture, write_warc

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "near_dup" / "law_versions_sjis"
PAGES = [
    ("http://law.e-gov.go.jp/htmldata/S56/S56HO059.html", "2015-05-15T00:00:00Z", "ginkoho_S56HO059/2015-05-15.html"),
    ("http://law.e-gov.go.jp/htmldata/H21/H21HO059.html", "2015-05-15T00:00:00Z", "shikin_kessai_H21HO059/2015-05-15.html"),
    ("http://law.e-gov.go.jp/htmldata/H21/H21HO059.html", "2015-08-04T00:00:00Z", "shikin_kessai_H21HO059/2015-08-04.html"),
]

if __name__ == "__main__":
    captures = [
        HttpCapture(url, date, (SHARED / rel).read_bytes(), "text/html; charset=Shift_JIS") for url, date, rel in PAGES
    ]
    out = write_warc(Path(__file__).parent / "warc" / "law-egov-2015.warc.gz", captures)
    print(f"wrote {out} ({out.stat().st_size} bytes)")
