"""QR codes (PNG, SVG) and the printable A4 poster of a business."""

from __future__ import annotations

import io
import math

import qrcode
import qrcode.image.svg
from django.utils import translation
from django.utils.translation import gettext as _
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

from businesses.models import Business

# A PNG printed on A4 (or larger) by the merchant's own software must stay sharp: at
# 1,000 px and more it is ≥ 300 dpi across 8 cm, and still crisp when stretched to a page.
PNG_MIN_WIDTH = 1000


def _qr(url: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=12, border=4)
    code.add_data(url)
    code.make(fit=True)
    return code


def qr_png(url: str) -> bytes:
    code = _qr(url)
    # Whole pixels per module keep the edges sharp; as many as reach the minimum width.
    code.box_size = math.ceil(PNG_MIN_WIDTH / (code.modules_count + 2 * code.border))
    buffer = io.BytesIO()
    code.make_image().save(buffer, format="PNG")
    return buffer.getvalue()


def qr_svg(url: str) -> bytes:
    buffer = io.BytesIO()
    _qr(url).make_image(image_factory=qrcode.image.svg.SvgPathImage).save(buffer)
    return buffer.getvalue()


TITLE_FONT = "Helvetica-Bold"
ADDRESS_FONT = "Courier-Bold"  # fixed width: l, I, 0 and O of the token stay apart
QR_SIZE = 162 * mm


def _printable(text: str) -> str:
    """The characters the PDF's standard fonts can draw (cp1252); emoji and the like
    would print as black boxes on the shop door."""
    kept = "".join(char for char in text if char.encode("cp1252", "ignore"))
    return " ".join(kept.split()) or text


def _title_lines(text: str, width: float) -> tuple[list[str], int]:
    """The business name in the largest size that fits `width`, on up to three lines."""
    for size in range(44, 23, -2):
        if stringWidth(text, TITLE_FONT, size) <= width:
            return [text], size
    size = 24
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


def _fitting_size(text: str, font: str, largest: int, width: float) -> int:
    size = largest
    while size > 8 and stringWidth(text, font, size) > width:
        size -= 1
    return size


def poster_pdf(business: Business) -> bytes:
    """A4 poster for the shop door, in the merchant's language: the name, a QR code as
    large as the page allows, the address to type for those who cannot scan, three steps."""
    with translation.override(business.owner.language):
        return _poster_pdf(business)


def _poster_pdf(business: Business) -> bytes:
    buffer = io.BytesIO()
    width, height = A4
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(f"Waitify — {business.name}")
    pdf.setAuthor("Waitify")
    ink, accent, muted = HexColor("#1f2937"), HexColor("#0f766e"), HexColor("#4b5563")
    band = 46 * mm

    pdf.setFillColor(accent)
    pdf.rect(0, height - band, width, band, stroke=0, fill=1)
    pdf.setFillColor(HexColor("#ffffff"))
    lines, size = _title_lines(_printable(business.name), width - 24 * mm)
    pdf.setFont(TITLE_FONT, size)
    leading = size * 1.15
    y = height - band / 2 + (len(lines) - 1) * leading / 2 - size / 3  # centred in the band
    for line in lines:
        pdf.drawCentredString(width / 2, y, line)
        y -= leading

    pdf.setFillColor(ink)
    headline = _("Skip the queue!")
    pdf.setFont("Helvetica-Bold", _fitting_size(headline, "Helvetica-Bold", 30, width - 20 * mm))
    pdf.drawCentredString(width / 2, height - band - 14 * mm, headline)
    scan = _("Scan this code with your phone's camera.")
    pdf.setFont("Helvetica", _fitting_size(scan, "Helvetica", 17, width - 20 * mm))
    pdf.drawCentredString(width / 2, height - band - 23 * mm, scan)

    # The code's own white margin (4 modules) is part of the image: its dark square is a
    # little smaller than QR_SIZE.
    qr_top = height - band - 26 * mm
    image = ImageReader(io.BytesIO(qr_png(business.join_url)))
    pdf.drawImage(image, (width - QR_SIZE) / 2, qr_top - QR_SIZE, QR_SIZE, QR_SIZE)

    # For those who cannot scan: the address, large enough to read and type.
    y = qr_top - QR_SIZE - 3 * mm
    pdf.setFillColor(muted)
    pdf.setFont("Helvetica", 12)
    pdf.drawCentredString(width / 2, y, _("No camera? Type this address in your browser:"))
    address = business.join_url
    pdf.setFillColor(ink)
    pdf.setFont(ADDRESS_FONT, _fitting_size(address, ADDRESS_FONT, 18, width - 20 * mm))
    pdf.drawCentredString(width / 2, y - 9 * mm, address)

    steps = [
        _("1. Scan the code and leave your phone number."),
        _("2. Go about your day: a text message tells you when your turn is near."),
        _("3. Come back when it is your turn."),
    ]
    step_size = min(_fitting_size(step, "Helvetica", 16, width - 40 * mm) for step in steps)
    pdf.setFont("Helvetica", step_size)
    y -= 22 * mm
    for step in steps:
        pdf.drawString(20 * mm, y, step)
        y -= 9 * mm

    pdf.setFont("Helvetica", 9)
    pdf.setFillColor(muted)
    pdf.drawCentredString(width / 2, 10 * mm, _("Virtual queue by Waitify"))
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def qr_svg_inline(url: str) -> str:
    """The SVG element alone, to embed in an HTML page (our own markup, safe to inline)."""
    svg = qr_svg(url).decode()
    return svg[svg.index("<svg"):]
