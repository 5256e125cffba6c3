"""Hand-written SELECTs for the hottest queries, read back into model instances.

Django's query compiler costs more than PostgreSQL's answer on the few queries
every join, call and status poll runs (≈1 ms of Python against ≈0.1 ms). Those
are written once in SQL, from the models' own table and column names, and
their rows come back as instances the ORM would have built: the same
conversions (SQLite's 0/1 booleans, text dates and UUIDs, JSON), fields left
out are deferred. Values are always parameters, identifiers always quoted.
"""

from __future__ import annotations

from django.db import connection


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def table(model) -> str:
    return quote(model._meta.db_table)


def column(model, name: str) -> str:
    return quote(model._meta.get_field(name).column)


def param(model, name: str, value):
    """A value as the ORM would send it for this field (a UUID on SQLite: 32 hex digits)."""
    return model._meta.get_field(name).get_db_prep_value(value, connection)


class Columns:
    """A model's columns under a table alias: the SELECT list, and instances loaded
    from the matching slice of a row."""

    def __init__(self, model, alias: str, names: tuple[str, ...] | None = None) -> None:
        self.model, self.alias = model, alias
        self.fields = [field for field in model._meta.concrete_fields
                       if names is None or field.name in names or field.attname in names]
        self._converters: dict[str, list] = {}

    def __len__(self) -> int:
        return len(self.fields)

    def select(self) -> str:
        return ", ".join(f"{self.alias}.{quote(field.column)}" for field in self.fields)

    def load(self, values):
        converters = self._converters.get(connection.vendor)
        if converters is None:
            converters = self._converters[connection.vendor] = [
                (col, connection.ops.get_db_converters(col)
                 + field.get_db_converters(connection))
                for field in self.fields for col in [field.get_col(self.alias)]]
        converted = []
        for value, (col, functions) in zip(values, converters, strict=True):
            for function in functions:
                value = function(value, col, connection)
            converted.append(value)
        return self.model.from_db(connection.alias,
                                  [field.attname for field in self.fields], converted)


def load_row(row, *parts: Columns) -> list:
    """One instance per part, from consecutive slices of the row."""
    instances, start = [], 0
    for part in parts:
        instances.append(part.load(row[start:start + len(part)]))
        start += len(part)
    return instances
