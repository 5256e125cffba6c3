"""Small query helpers shared by the apps."""

from __future__ import annotations

from django.db.models import Model, QuerySet


def one_or_none(queryset: QuerySet) -> Model | None:
    """The row a lookup on a unique key finds, or None.

    Unlike `first()`, it asks for no ORDER BY: sorting one row costs PostgreSQL nothing,
    but building the ordering (a model's default one included) is a good part of the
    Python work of a small query, and the pages that poll run such queries most."""
    try:
        return queryset.get()
    except queryset.model.DoesNotExist:
        return None
