"""Real government article HTML from ../shared/data, dressed in real-world licence footers and hosts.

The article bodies are the Digital Agency's own note.digital.go.jp pages (2021 archive). The
footers reproduce the wording real sites use: FSA-style "All Rights Reserved" + 無断転載禁止, a
ministry's 政府標準利用規約（第2.0版） notice with its 出典 line, and a Creative Commons BY badge.
"""

from __future__ import annotations

from pathlib import Path

from corpus.sources.warc_write import HttpCapture, write_warc

NOTE = "gov_html/digital_agency_note_2021"

FOOTER_ARR = (
    '<footer class="footer"><p class="copyright">Copyright &copy; Financial Services Agency. All Rights Reserved.</p>'
    "<p>本ウェブサイトに掲載している記事の無断転載を禁じます。</p></footer>"
)
FOOTER_GSTU = (
    '<footer><p>当ウェブサイトのコンテンツは、<a href="https://www.kantei.go.jp/jp/singi/it2/densi/kettei/gl2_betten_1.pdf">'
    "政府標準利用規約（第2.0版）</a>に準拠しています。利用の際は出典を記載してください。"
    "（例）出典：財務省ウェブサイト（当該ページのURL）</p></footer>"
)
FOOTER_CC_BY = (
    '<footer><a rel="license" href="https://creativecommons.org/licenses/by/4.0/deed.ja">'
    '<img alt="クリエイティブ・コモンズ・ライセンス" src="https://i.creativecommons.org/l/by/4.0/88x31.png"></a>'
    "<br>この 作品 は クリエイティブ・コモンズ 表示 4.0 国際 ライセンスの下に提供されています。</footer>"
)
FOOTER_CC_BY_NC = (
    '<footer><a rel="license" href="https://creativecommons.org/licenses/by-nc/4.0/">CC BY-NC 4.0</a></footer>'
)

#: name -> (article file, URL it is served from, footer or None)
PAGES = {
    "fsa_all_rights_reserved": ("n_nf2c340029002.html", "https://www.fsa.go.jp/news/r3/sonota/20210801.html", FOOTER_ARR),
    "mof_gstu": ("n_n3690482b9676.html", "https://www.mof.go.jp/public_relations/column/20210801.html", FOOTER_GSTU),
    "lab_cc_by": ("n_nefb0c246a4db.html", "https://www.example-lab.jp/articles/dx.html", FOOTER_CC_BY),
    "mof_mentions_gstu_only": ("n_n40eaa2c86e2f.html", "https://www.mof.go.jp/about/column/transparency.html", None),
    "boj_page": ("top.html", "https://www.boj.or.jp/research/brp/index.htm", None),
}


def dressed_html(shared: Path, article: str, footer: str | None) -> bytes:
    html = (shared / NOTE / article).read_bytes()
    if footer:
        html = html.replace(b"</body>", footer.encode("utf-8") + b"</body>", 1)
    return html


def write_dressed_warc(shared: Path, path: Path, names: list[str] | None = None, extra: dict | None = None) -> Path:
    """A WARC of the dressed pages (all, or ``names``); ``extra`` adds name -> (article, url, footer)."""
    pages = {**PAGES, **(extra or {})}
    captures = [
        HttpCapture(url, "2021-08-25T00:00:00Z", dressed_html(shared, article, footer), "text/html; charset=utf-8")
        for name, (article, url, footer) in pages.items()
        if names is None or name in names
    ]
    return write_warc(path, captures)
