"""Validators of business fields, shared by the model, the forms, the API and the admin."""

from __future__ import annotations

from datetime import date
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from waitify.lib.opening_hours import WEEKDAYS, HoursError, check_hours
from waitify.lib.phones import InvalidPhone, normalize_phone

WEEKDAY_NAMES = {
    "monday": _("Monday"), "tuesday": _("Tuesday"), "wednesday": _("Wednesday"),
    "thursday": _("Thursday"), "friday": _("Friday"), "saturday": _("Saturday"),
    "sunday": _("Sunday"),
}

HOURS_MESSAGES = {
    "not_a_dict": _("Opening hours must be an object with \"weekly\" and \"exceptions\"."),
    "unknown_key": _("Unknown key in opening hours: %(subject)s. Use \"weekly\" and "
                     "\"exceptions\"."),
    "unknown_day": _("Unknown weekday: %(subject)s. Use monday … sunday."),
    "bad_date": _("Not a date: %(subject)s. Use YYYY-MM-DD."),
    "not_a_list": _("%(subject)s: give a list of time ranges (an empty list when closed)."),
    "too_many_ranges": _("%(subject)s: at most 3 time ranges a day."),
    "bad_time": _("%(subject)s: each range is two times written HH:MM, such as "
                  "[\"08:00\", \"12:30\"]."),
    "end_before_start": _("%(subject)s: the range %(detail)s ends before it starts."),
    "overlap": _("%(subject)s: the range %(detail)s overlaps another one."),
}


def hours_subject(subject: str) -> str:
    """A weekday by its translated name, a date as people write it ("25 December 2026"),
    anything else as given."""
    if subject in WEEKDAYS:
        return str(WEEKDAY_NAMES[subject])
    try:
        return date_format(date.fromisoformat(subject), "j F Y")
    except ValueError:
        return subject


def validate_opening_hours(value: object) -> None:
    try:
        check_hours(value)
    except HoursError as problem:
        raise ValidationError(
            HOURS_MESSAGES[problem.problem] % {"subject": hours_subject(problem.subject),
                                               "detail": problem.detail},
            code=problem.problem) from problem


def validate_timezone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(_("Unknown time zone: %(zone)s."), params={"zone": value[:40]},
                              code="timezone")


def validate_phone(value: str) -> None:
    """A number people can be called on; the services store it as E.164 (`normalized_phone`)."""
    if not value:
        return
    try:
        normalize_phone(value)
    except InvalidPhone as exc:
        raise ValidationError(_("Enter a valid phone number, for example 06 12 34 56 78."),
                              code="invalid_phone") from exc


def normalized_phone(value: str) -> str:
    """`value` as E.164 when it is a valid number; as typed otherwise, for `validate_phone`
    to refuse in words (the form, the API and the services all go through both)."""
    try:
        return normalize_phone(value)
    except InvalidPhone:
        return (value or "").strip()


def validate_zip_code(value: str) -> None:
    # isdigit() alone accepts "７５０１１" or "²": only ASCII digits make a zip code.
    if value and not (len(value) == 5 and value.isascii() and value.isdigit()):
        raise ValidationError(_("A French zip code has five digits, e.g. 75011."),
                              code="invalid_zip_code")
