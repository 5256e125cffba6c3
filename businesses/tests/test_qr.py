"""QR codes (PNG, SVG), the A4 poster, and regenerating the token."""

from __future__ import annotations

import io
import re
from xml.etree import ElementTree

import pytest
from django.test import override_settings
from django.urls import reverse
from PIL import Image, ImageDraw
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from businesses import qr, services
from businesses.models import Business

try:
    import zxingcpp
except ImportError:  # pragma: no cover - the [test] extras install it
    zxingcpp = None


def decode_qr(image: Image.Image) -> list[str]:
    """The texts of the QR codes in `image` (skipped, loudly, without a decoder)."""
    if zxingcpp is None:
        pytest.skip("*** zxing-cpp is not installed: QR content not decoded ***")
    return [result.text for result in zxingcpp.read_barcodes(image.convert("L"))]


def rasterise_svg(svg: bytes, pixels_per_unit: int = 10) -> Image.Image:
    """Draw the rectangles of the qrcode package's SVG path on a white image."""
    root = ElementTree.fromstring(svg)  # noqa: S314 - our own output
    _x, _y, width, height = (float(value) for value in root.attrib["viewBox"].split())
    image = Image.new("L", (round(width * pixels_per_unit), round(height * pixels_per_unit)),
                      255)
    draw = ImageDraw.Draw(image)
    number = r"([\d.]+)"
    path = "".join(element.attrib["d"] for element in root.iter()
                   if element.tag.endswith("path"))
    squares = re.findall(rf"M{number},{number}H{number}V{number}H[\d.]+z", path)
    assert squares, "no module found in the SVG path"
    for left, top, right, bottom in squares:
        draw.rectangle([round(float(left) * pixels_per_unit), round(float(top) * pixels_per_unit),
                        round(float(right) * pixels_per_unit) - 1,
                        round(float(bottom) * pixels_per_unit) - 1], fill=0)
    return image


def pdf_text(reader: PdfReader) -> str:
    return " ".join(reader.pages[0].extract_text().split())


# --- PNG and SVG ---------------------------------------------------------------------------


def test_the_png_is_a_png_of_the_join_url(merchant_client, business):
    response = merchant_client.get(reverse("businesses:qr_png", args=[business.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == (
        'attachment; filename="waitify-boulangerie-martin-qr.png"')
    assert "private" in response["Cache-Control"]
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG"
    assert image.width == image.height >= 300
    assert decode_qr(image) == [f"https://waitify.test/q/{business.qr_token}"]


def test_the_svg_is_an_svg_of_the_join_url(merchant_client, business):
    response = merchant_client.get(reverse("businesses:qr_svg", args=[business.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Content-Disposition"] == (
        'attachment; filename="waitify-boulangerie-martin-qr.svg"')
    root = ElementTree.fromstring(response.content)  # noqa: S314 - our own output
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert decode_qr(rasterise_svg(response.content)) == [business.join_url]


@override_settings(SITE_URL="https://files.waitify.example")
def test_the_codes_point_at_the_site_url(merchant_client, business):
    expected = f"https://files.waitify.example/q/{business.qr_token}"
    png = merchant_client.get(reverse("businesses:qr_png", args=[business.pk])).content
    svg = merchant_client.get(reverse("businesses:qr_svg", args=[business.pk])).content

    assert decode_qr(Image.open(io.BytesIO(png))) == [expected]
    assert decode_qr(rasterise_svg(svg)) == [expected]


def test_the_join_url_fits_in_a_small_code():
    # A short token keeps the code coarse enough to scan from a poster across a shop.
    assert qr._qr("https://waitify.example/q/" + "x" * 24).version <= 5


def test_the_png_is_large_enough_to_print_on_a4(merchant_client, business):
    response = merchant_client.get(reverse("businesses:qr_png", args=[business.pk]))

    image = Image.open(io.BytesIO(response.content))
    assert image.width == image.height >= 1000
    assert image.width <= 1200
    assert decode_qr(image) == [business.join_url]


# --- poster --------------------------------------------------------------------------------


def test_the_poster_is_a_one_page_a4_pdf_with_the_name_and_the_join_url(merchant_client,
                                                                        business):
    response = merchant_client.get(reverse("businesses:poster", args=[business.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        'attachment; filename="waitify-boulangerie-martin-affiche.pdf"')
    assert response.content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (round(A4[0]), round(A4[1]))
    text = pdf_text(reader)
    assert "Boulangerie Martin" in text
    assert business.join_url in text
    assert "Scannez" in text  # the instruction is in French


def test_the_qr_code_on_the_poster_decodes_to_the_join_url(merchant_client, business):
    response = merchant_client.get(reverse("businesses:poster", args=[business.pk]))

    images = PdfReader(io.BytesIO(response.content)).pages[0].images
    assert len(images) == 1
    assert decode_qr(images[0].image) == [business.join_url]


@pytest.mark.parametrize("name", [
    "Boulangerie Pâtisserie Artisanale de la Place du Marché Saint-Germain-des-Prés et "
    "de ses environs",
    "Œufs & Crème – l’atelier de Zoé",
    "W" * 60,
])
def test_a_long_or_accented_name_fits_on_the_poster(merchant, name):
    business = services.business_create(owner=merchant, name=name, business_type="bakery")
    widths: list[float] = []

    def measure(text, _cm, tm, _font, size):
        if text.strip() and text.strip() in name:
            widths.append((tm[4], tm[4] + stringWidth(text, "Helvetica-Bold", size)))

    reader = PdfReader(io.BytesIO(qr.poster_pdf(business)))
    reader.pages[0].extract_text(visitor_text=measure)

    assert name.replace(" ", "") == pdf_text(reader).replace(" ", "")[:len(name.replace(" ", ""))]
    assert widths
    for left, right in widths:
        assert left >= 0
        assert right <= A4[0]


def texts_with_sizes(pdf: bytes) -> list[tuple[str, float, float]]:
    """(text, font size, height on the page in mm) of each piece of text on the poster."""
    found: list[tuple[str, float, float]] = []

    def collect(text, _cm, tm, _font, size):
        if text.strip():
            found.append((text.strip(), size, tm[5] / mm))

    PdfReader(io.BytesIO(pdf)).pages[0].extract_text(visitor_text=collect)
    return found


def drawn_images_mm(pdf: bytes) -> list[tuple[float, float, float]]:
    """(width, height, bottom) in mm of each image drawn on the poster's page."""
    content = PdfReader(io.BytesIO(pdf)).pages[0].get_contents().get_data().decode("latin-1")
    number = r"([\d.]+)"
    return [(float(w) / mm, float(h) / mm, float(y) / mm) for w, h, _x, y in re.findall(
        rf"{number} 0 0 {number} {number} {number} cm\s*/\S+ Do", content)]


def test_the_poster_uses_its_space_for_the_code_and_the_name(merchant, business):
    pdf = qr.poster_pdf(business)

    [(width, height, bottom)] = drawn_images_mm(pdf)
    assert width == height >= 140
    name_sizes = [size for text, size, _y in texts_with_sizes(pdf)
                  if text == "Boulangerie Martin"]
    assert name_sizes == [44]


def test_the_poster_prints_the_address_under_the_code_for_those_who_cannot_scan(merchant,
                                                                               business):
    pdf = qr.poster_pdf(business)

    [(_width, _height, code_bottom)] = drawn_images_mm(pdf)
    [(size, y)] = [(size, y) for text, size, y in texts_with_sizes(pdf)
                   if text == business.join_url]
    assert size >= 14
    assert code_bottom - 20 < y < code_bottom
    assert "Pas d'appareil photo ? Tapez cette adresse dans votre navigateur :" in pdf_text(
        PdfReader(io.BytesIO(pdf)))


def test_the_poster_follows_the_merchants_language(merchant, business):
    merchant.language = "en"
    merchant.save()
    business.refresh_from_db()

    text = pdf_text(PdfReader(io.BytesIO(qr.poster_pdf(business))))

    assert "Skip the queue!" in text
    assert "Scan this code with your phone's camera." in text
    assert "No camera? Type this address in your browser:" in text
    assert "Scannez" not in text


def test_an_emoji_in_the_name_does_not_print_as_a_black_box(merchant):
    business = services.business_create(owner=merchant, name="Fournil 🥖 du Port",
                                        business_type="bakery")
    text = pdf_text(PdfReader(io.BytesIO(qr.poster_pdf(business))))
    assert text.startswith("Fournil du Port")
    assert "■" not in text


# --- regenerating the token ----------------------------------------------------------------


def test_regenerating_the_token_changes_the_url_and_retires_the_old_one(merchant_client,
                                                                        business, client):
    old_token, old_url = business.qr_token, business.join_url

    response = merchant_client.post(reverse("businesses:regenerate_qr", args=[business.pk]),
                                    follow=True, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "the old one no longer works" in response.content.decode()
    business.refresh_from_db()
    assert business.qr_token != old_token
    assert len(business.qr_token) >= 24
    assert business.join_url in response.content.decode()
    assert old_url not in response.content.decode()

    merchant_client.logout()
    gone = client.get(f"/q/{old_token}", HTTP_ACCEPT_LANGUAGE="en")
    assert gone.status_code == 404
    assert "This code is no longer valid" in gone.content.decode()
    fresh = client.get(f"/q/{business.qr_token}", HTTP_ACCEPT_LANGUAGE="en")
    assert fresh.status_code == 200
    assert "Boulangerie Martin" in fresh.content.decode()


def test_the_downloads_follow_the_new_token(merchant_client, business):
    old_url = business.join_url
    services.business_regenerate_qr_token(business=business)

    png = merchant_client.get(reverse("businesses:qr_png", args=[business.pk])).content
    poster = merchant_client.get(reverse("businesses:poster", args=[business.pk])).content

    assert decode_qr(Image.open(io.BytesIO(png))) == [business.join_url]
    assert business.join_url in pdf_text(PdfReader(io.BytesIO(poster)))
    assert old_url not in pdf_text(PdfReader(io.BytesIO(poster)))


@pytest.mark.parametrize("token", ["unknown", "x" * 300, "%00", "ab%00cd", "ÿ", "a.b"])
def test_an_unknown_code_gets_the_friendly_page_in_french_by_default(client, db, token):
    response = client.get(f"/q/{token}")
    assert response.status_code == 404
    assert '<html lang="fr">' in response.content.decode()


def test_the_tokens_are_unique_and_unguessable(merchant):
    tokens = {services.business_create(owner=merchant, name=f"Shop {n}",
                                       business_type="bakery").qr_token for n in range(5)}
    assert len(tokens) == 5
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{24,}", token) for token in tokens)


def test_it_checks_ownership(outsider_client, business):
    before = Business.objects.get(pk=business.pk).qr_token
    for name in ("qr_png", "qr_svg", "poster"):
        assert outsider_client.get(reverse(f"businesses:{name}", args=[business.pk])) \
            .status_code == 404
    assert outsider_client.post(reverse("businesses:regenerate_qr", args=[business.pk])) \
        .status_code == 404
    assert Business.objects.get(pk=business.pk).qr_token == before
