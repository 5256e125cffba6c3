"""How many SMS segments a text costs (GSM 03.38 / UCS-2), and keeping texts in GSM-7.

A text made only of GSM-7 characters is packed in 7-bit septets: 160 of them
fit one SMS, and a long text is split in parts of 153 (6 bytes go to the
concatenation header). Characters of the extension table (€, [, ], {, }, ~,
^, \\, |) cost two septets (an escape plus the character) and are never split
across parts. One character outside GSM-7 switches the whole text to UCS-2:
70 characters, 67 per part, counted in UTF-16 code units.
"""

from __future__ import annotations

import unicodedata

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
GSM7 = GSM7_BASIC | GSM7_EXTENSION

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

# Typography that phones and word processors put in: replaced by its GSM-7
# look-alike rather than paying for UCS-2 (which halves the room).
_LOOKALIKES = {
    "\u2019": "'", "\u2018": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u00ab": '"', "\u00bb": '"', "\u201e": '"',
    "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u2026": "...", "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ",
    "\t": " ", "\u0153": "oe", "\u0152": "OE",
}


def is_gsm7(text: str) -> bool:
    return GSM7.issuperset(text)


def encoding(text: str) -> str:
    """"GSM-7" or "UCS-2": how a phone network would carry `text`."""
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def _gsm7_segments(text: str) -> int:
    if septet_length(text) <= GSM7_SINGLE:
        return 1
    parts, used = 1, 0
    for char in text:
        cost = 2 if char in GSM7_EXTENSION else 1
        if used + cost > GSM7_PART:  # an escape pair is never split across parts
            parts, used = parts + 1, 0
        used += cost
    return parts


def _ucs2_segments(text: str) -> int:
    units = [2 if ord(char) > 0xFFFF else 1 for char in text]
    if sum(units) <= UCS2_SINGLE:
        return 1
    parts, used = 1, 0
    for cost in units:  # a surrogate pair is never split across parts
        if used + cost > UCS2_PART:
            parts, used = parts + 1, 0
        used += cost
    return parts


def segment_count(text: str) -> int:
    """Number of SMS parts `text` is billed as (0 for an empty text)."""
    if not text:
        return 0
    return _gsm7_segments(text) if is_gsm7(text) else _ucs2_segments(text)


def septet_length(text: str) -> int:
    """Length in GSM-7 septets (extension characters count twice)."""
    return len(text) + sum(text.count(char) for char in GSM7_EXTENSION)


def to_gsm7(text: str) -> str:
    """`text` with typographic quotes, dashes and accents GSM-7 lacks (ê, ô, î…)
    replaced by their closest GSM-7 form, when that makes the whole text GSM-7.

    A text that would still need UCS-2 (an emoji, another script) is returned
    unchanged: it costs UCS-2 anyway, so it keeps its accents.
    """
    if is_gsm7(text):
        return text
    out = []
    for char in text:
        if char in GSM7:
            out.append(char)
        elif char in _LOOKALIKES:
            out.append(_LOOKALIKES[char])
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", char)
                           if not unicodedata.combining(c))
            out.append(base or char)
    converted = "".join(out)
    return converted if is_gsm7(converted) else text
