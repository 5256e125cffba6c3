"""Amounts are stored in cents and shown in euros, in the active language's format."""

from __future__ import annotations

from django.utils import formats


def euros(cents: int | None) -> str:
    """1900 → "19,00 €" in French, "19.00 €" in English."""
    return f"{formats.number_format((cents or 0) / 100, 2, use_l10n=True)}\u00a0€"
