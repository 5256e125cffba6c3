"""Figures as a merchant reads them, in the page's language ("8,5 min", "12,40 €")."""

from __future__ import annotations

from django import template
from django.utils.formats import number_format

register = template.Library()

NOTHING = "–"
NBSP = "\u00a0"  # "12 min" never breaks between the number and its unit


@register.filter
def euros(cents: int | None) -> str:
    if cents is None:
        return NOTHING
    return f"{number_format(cents / 100, 2, force_grouping=True)}{NBSP}€"


@register.filter
def minutes(value: float | None) -> str:
    if value is None:
        return NOTHING
    return f"{number_format(value, 1 if value < 10 else 0)}{NBSP}min"


@register.filter
def percent(value: float | None) -> str:
    if value is None:
        return NOTHING
    return f"{number_format(value, 1)}{NBSP}%"


@register.filter
def hours_list(labels: list[str]) -> str:
    return ", ".join(labels) if labels else NOTHING


@register.filter
def duration(seconds: int | None) -> str:
    """150 → "2 min 30 s"; 45 → "45 s"."""
    if seconds is None:
        return NOTHING
    minutes_part, seconds_part = divmod(int(seconds), 60)
    if not minutes_part:
        return f"{seconds_part} s"
    return f"{minutes_part} min {seconds_part:02d} s" if seconds_part else f"{minutes_part} min"
