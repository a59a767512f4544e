"""Build real PDFs for tests: a text-layer PDF of real Japanese law text, and an image-only "scan"."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

LAW_TEXT = "law_html/lawegov_2013_sjis/text/bf2a36e69d30a929.txt"


def law_sentences(shared: Path, n: int = 6, width: int = 60) -> list[str]:
    law = (shared / LAW_TEXT).read_text(encoding="utf-8")
    return [ln.strip()[:width] for ln in law.splitlines() if len(ln.strip()) > 10][:n]


def text_pdf(sentences: list[str], per_page: int = 3) -> bytes:
    """PDF with a real text layer (reportlab's built-in Japanese CID font, nothing embedded)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiMin-W3"))
    buf = BytesIO()
    c = canvas.Canvas(buf)
    for start in range(0, len(sentences), per_page):
        c.setFont("HeiseiMin-W3", 9)
        for i, s in enumerate(sentences[start:start + per_page]):
            c.drawString(30, 800 - 14 * i, s)
        c.showPage()
    c.save()
    return buf.getvalue()


def image_pdf(shared: Path) -> bytes:
    """A one-page PDF holding only a raster image, as a scanner makes them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    pixels = np.frombuffer((shared / LAW_TEXT).read_bytes()[: 64 * 64], dtype=np.uint8).reshape(64, 64)
    fig = plt.figure()
    fig.figimage(pixels, cmap="gray")
    buf = BytesIO()
    fig.savefig(buf, format="pdf")
    plt.close(fig)
    return buf.getvalue()
