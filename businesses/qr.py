"""QR codes (PNG, SVG) and the printable A4 poster of a business."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

from businesses.models import Business


def _qr(url: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=12, border=4)
    code.add_data(url)
    code.make(fit=True)
    return code


def qr_png(url: str) -> bytes:
    buffer = io.BytesIO()
    _qr(url).make_image().save(buffer, format="PNG")
    return buffer.getvalue()


def qr_svg(url: str) -> bytes:
    buffer = io.BytesIO()
    _qr(url).make_image(image_factory=qrcode.image.svg.SvgPathImage).save(buffer)
    return buffer.getvalue()


TITLE_FONT = "Helvetica-Bold"


def _printable(text: str) -> str:
    """The characters the PDF's standard fonts can draw (cp1252); emoji and the like
    would print as black boxes on the shop door."""
    kept = "".join(char for char in text if char.encode("cp1252", "ignore"))
    return " ".join(kept.split()) or text


def _title_lines(text: str, width: float) -> tuple[list[str], int]:
    """The business name in the largest size that fits `width`, on up to three lines."""
    for size in range(30, 17, -2):
        if stringWidth(text, TITLE_FONT, size) <= width:
            return [text], size
    size = 18
    lines: list[str] = []
    for line in simpleSplit(text, TITLE_FONT, size, width):
        # simpleSplit only breaks at spaces: cut a word that is wider than the page.
        while stringWidth(line, TITLE_FONT, size) > width:
            cut = len(line)
            while cut > 1 and stringWidth(line[:cut], TITLE_FONT, size) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)
    if len(lines) > 3:
        lines = [*lines[:2], lines[2].rstrip()[:-1] + "…"]
    return lines, size


def poster_pdf(business: Business) -> bytes:
    """A4 poster for the shop door: name, big QR code, instructions in French."""
    buffer = io.BytesIO()
    width, height = A4
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(f"Waitify — {business.name}")
    pdf.setAuthor("Waitify")
    ink, accent = HexColor("#1f2937"), HexColor("#0f766e")

    pdf.setFillColor(accent)
    pdf.rect(0, height - 38 * mm, width, 38 * mm, stroke=0, fill=1)
    pdf.setFillColor(HexColor("#ffffff"))
    lines, size = _title_lines(_printable(business.name), width - 30 * mm)
    pdf.setFont(TITLE_FONT, size)
    leading = size * 1.15
    y = height - 19 * mm + (len(lines) - 1) * leading / 2 - size / 3  # centred in the band
    for line in lines:
        pdf.drawCentredString(width / 2, y, line)
        y -= leading

    pdf.setFillColor(ink)
    pdf.setFont("Helvetica-Bold", 26)
    pdf.drawCentredString(width / 2, height - 58 * mm, "Ne faites plus la queue !")
    pdf.setFont("Helvetica", 16)
    pdf.drawCentredString(width / 2, height - 68 * mm,
                          "Scannez ce code avec l'appareil photo de votre téléphone.")

    size = 120 * mm
    image = ImageReader(io.BytesIO(qr_png(business.join_url)))
    pdf.drawImage(image, (width - size) / 2, height - 75 * mm - size, size, size)

    steps = [
        "1. Scannez le code et laissez votre numéro de téléphone.",
        "2. Promenez-vous : un SMS vous prévient quand votre tour approche.",
        "3. Revenez quand c'est votre tour.",
    ]
    pdf.setFont("Helvetica", 14)
    y = height - 85 * mm - size
    for step in steps:
        pdf.drawString(35 * mm, y, step)
        y -= 9 * mm

    pdf.setFont("Helvetica", 10)
    pdf.setFillColor(HexColor("#6b7280"))
    pdf.drawCentredString(width / 2, 18 * mm, f"Ou ouvrez : {business.join_url}")
    pdf.drawCentredString(width / 2, 12 * mm, "File d'attente virtuelle par Waitify")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def qr_svg_inline(url: str) -> str:
    """The SVG element alone, to embed in an HTML page (our own markup, safe to inline)."""
    svg = qr_svg(url).decode()
    return svg[svg.index("<svg"):]
