from __future__ import annotations

from django import template
from django.utils import formats

register = template.Library()


@register.filter
def euros(cents: int | None) -> str:
    """1234 → "12,34 €" in French, "12.34 €" in English."""
    return f"{formats.number_format((cents or 0) / 100, 2, use_l10n=True)}\u00a0€"

