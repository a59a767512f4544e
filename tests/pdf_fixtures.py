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


def bomb_pdf(inflated: int, text: str = "Hello") -> bytes:
    """A one-page PDF whose FlateDecode content stream inflates to ``inflated`` bytes (mostly
    spaces after one line of text), compressed while streaming: a decompression bomb."""
    import zlib

    z = zlib.compressobj(9)
    parts = [z.compress(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET\n".encode("ascii"))]
    chunk = b" " * (1 << 20)
    left = inflated
    while left > 0:
        parts.append(z.compress(chunk[: min(left, len(chunk))]))
        left -= len(chunk)
    parts.append(z.flush())
    stream = b"".join(parts)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" /Filter /FlateDecode >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
