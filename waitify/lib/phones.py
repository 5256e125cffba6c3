"""Phone numbers: parse what people type, store E.164, show masked."""

from __future__ import annotations

import phonenumbers


class InvalidPhone(ValueError):
    pass


def normalize_phone(raw: str, *, region: str = "FR") -> str:
    """Return `raw` as E.164 (`06 12 34 56 78` → `+33612345678`) or raise InvalidPhone."""
    text = (raw or "").strip()
    if not text or len(text) > 32 or "\x00" in text:
        raise InvalidPhone(raw)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(raw) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def national_format(e164: str) -> str:
    """`+33612345678` → `06 12 34 56 78` for French numbers, international otherwise."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code == 33:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def mask_phone(e164: str) -> str:
    """Keep the first two and last two digits only: `06 •• •• •• 78`."""
    if not e164:
        return ""
    shown = national_format(e164)
    digits = [c for c in shown if c.isdigit()]
    if len(digits) < 6:
        return "•" * len(shown)
    keep_head, keep_tail = 2, 2
    total = len(digits)
    out, seen = [], 0
    for char in shown:
        if char.isdigit():
            seen += 1
            out.append(char if seen <= keep_head or seen > total - keep_tail else "•")
        else:
            out.append(char)
    return "".join(out)


def has_allowed_prefix(e164: str, prefixes: list[str] | tuple[str, ...]) -> bool:
    """Whether an E.164 number starts with one of `prefixes` (`+336`, `+337`…)."""
    return any(e164.startswith(prefix) for prefix in prefixes)
