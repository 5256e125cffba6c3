"""Opening hours read on the shop's clock: ranges, closed days, dated exceptions,
midnight and daylight-saving changes, on hand-made weeks."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from waitify.lib.opening_hours import (
    WEEKDAYS,
    HoursError,
    check_hours,
    closing_at,
    from_legacy,
    is_open_at,
    next_opening,
    week,
)

PARIS = ZoneInfo("Europe/Paris")
REUNION = ZoneInfo("Indian/Reunion")

# A bakery: closed on Mondays, two ranges Tuesday to Saturday, Sunday morning.
BAKERY = {
    "weekly": {
        "monday": [],
        **{day: [["08:00", "12:30"], ["14:00", "19:30"]]
           for day in ("tuesday", "wednesday", "thursday", "friday", "saturday")},
        "sunday": [["08:00", "12:30"]],
    },
    "exceptions": {"2026-12-25": [], "2026-11-30": [["09:00", "12:00"]]},
}


def closed_except(**days: list) -> dict:
    """A week closed every day but `days` (a weekday left out would have no restriction)."""
    return {"weekly": {day: days.get(day, []) for day in WEEKDAYS}}


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


@pytest.mark.parametrize(("moment", "is_open"), [
    ("2026-12-01 07:59", False),  # Tuesday, before opening
    ("2026-12-01 08:00", True),
    ("2026-12-01 12:29", True),
    ("2026-12-01 12:30", False),  # lunch break
    ("2026-12-01 13:59", False),
    ("2026-12-01 14:00", True),
    ("2026-12-01 19:29", True),
    ("2026-12-01 19:30", False),
    ("2026-12-07 10:00", False),  # a Monday: closed all day
    ("2026-12-06 10:00", True),  # Sunday morning
    ("2026-12-06 15:00", False),
])
def test_it_follows_two_ranges_a_day_and_a_closed_day(moment, is_open):
    assert is_open_at(BAKERY, paris(moment), PARIS) is is_open


def test_a_dated_exception_replaces_the_weekday():
    # Friday 25 December is closed although Fridays are open.
    assert is_open_at(BAKERY, paris("2026-12-25 10:00"), PARIS) is False
    # Monday 30 November opens in the morning although Mondays are closed.
    assert is_open_at(BAKERY, paris("2026-11-30 09:30"), PARIS) is True
    assert is_open_at(BAKERY, paris("2026-11-30 12:00"), PARIS) is False


def test_it_reads_any_instant_on_the_shops_clock():
    # 07:30 UTC is 08:30 in Paris (open) and 11:30 in Réunion.
    utc = datetime(2026, 12, 1, 7, 30, tzinfo=ZoneInfo("UTC"))
    assert is_open_at(BAKERY, utc, PARIS) is True
    assert is_open_at(BAKERY, utc, REUNION) is True
    evening = datetime(2026, 12, 1, 16, 0, tzinfo=ZoneInfo("UTC"))  # 17:00 Paris, 20:00 Réunion
    assert is_open_at(BAKERY, evening, PARIS) is True
    assert is_open_at(BAKERY, evening, REUNION) is False


def test_the_next_opening_is_the_afternoon_the_next_day_or_after_a_closed_day():
    assert next_opening(BAKERY, paris("2026-12-01 13:00"), PARIS) == paris("2026-12-01 14:00")
    assert next_opening(BAKERY, paris("2026-12-01 20:00"), PARIS) == paris("2026-12-02 08:00")
    # Sunday afternoon: Monday 7 December is closed, Tuesday opens at 08:00.
    assert next_opening(BAKERY, paris("2026-12-06 13:00"), PARIS) == paris("2026-12-08 08:00")
    # Christmas Eve evening: the 25th is closed, the 26th (Saturday) opens.
    assert next_opening(BAKERY, paris("2026-12-24 20:00"), PARIS) == paris("2026-12-26 08:00")
    # The Sunday before the Monday exception: it opens Monday at 09:00.
    assert next_opening(BAKERY, paris("2026-11-29 13:00"), PARIS) == paris("2026-11-30 09:00")


def test_the_closing_time_is_the_end_of_the_current_range():
    assert closing_at(BAKERY, paris("2026-12-01 11:00"), PARIS) == paris("2026-12-01 12:30")
    assert closing_at(BAKERY, paris("2026-12-01 18:00"), PARIS) == paris("2026-12-01 19:30")
    assert closing_at(BAKERY, paris("2026-12-01 13:00"), PARIS) is None


def test_ranges_running_to_midnight_and_from_midnight():
    bar = closed_except(friday=[["18:00", "24:00"]], saturday=[["00:00", "02:00"]])
    assert is_open_at(bar, paris("2026-12-04 23:59"), PARIS) is True
    assert is_open_at(bar, paris("2026-12-05 00:30"), PARIS) is True
    assert is_open_at(bar, paris("2026-12-05 02:00"), PARIS) is False
    # The night runs on: Friday's range closes at 02:00 on Saturday, not at midnight.
    assert closing_at(bar, paris("2026-12-04 22:00"), PARIS) == paris("2026-12-05 02:00")
    assert next_opening(bar, paris("2026-12-05 03:00"), PARIS) == paris("2026-12-11 18:00")


def test_the_hours_stay_on_the_wall_clock_across_a_daylight_saving_change():
    hours = closed_except(saturday=[["09:00", "18:00"]], monday=[["09:00", "18:00"]])
    # Saturday 28 March 2026 is on winter time (UTC+1), Monday 30 March on summer time.
    assert is_open_at(hours, datetime(2026, 3, 28, 7, 30, tzinfo=ZoneInfo("UTC")), PARIS) is False
    assert is_open_at(hours, datetime(2026, 3, 30, 7, 30, tzinfo=ZoneInfo("UTC")), PARIS) is True
    opening = next_opening(hours, paris("2026-03-28 19:00"), PARIS)
    assert opening == paris("2026-03-30 09:00")
    assert opening.utcoffset().total_seconds() == 2 * 3600
    assert opening.astimezone(ZoneInfo("UTC")).hour == 7


def test_an_opening_in_the_skipped_hour_opens_just_after_the_change():
    hours = closed_except(sunday=[["02:30", "12:00"]])
    opening = next_opening(hours, paris("2026-03-28 20:00"), PARIS)
    assert opening.astimezone(ZoneInfo("UTC")) == datetime(2026, 3, 29, 1, 30,
                                                           tzinfo=ZoneInfo("UTC"))
    assert is_open_at(hours, datetime(2026, 3, 29, 1, 45, tzinfo=ZoneInfo("UTC")), PARIS)


def test_no_hours_and_unlisted_days_have_no_restriction():
    assert is_open_at({}, paris("2026-12-01 03:00"), PARIS) is True
    only_monday = {"weekly": {"monday": []}}
    assert is_open_at(only_monday, paris("2026-12-01 03:00"), PARIS) is True
    assert next_opening(only_monday, paris("2026-12-07 10:00"), PARIS) == paris("2026-12-08 00:00")


def test_it_finds_no_opening_when_every_day_is_closed():
    closed = closed_except()
    assert next_opening(closed, paris("2026-12-01 10:00"), PARIS) is None


def test_the_week_shows_exceptions_of_the_coming_days():
    days = week(BAKERY, date(2026, 12, 21))
    assert [day.day.isoformat() for day in days][0] == "2026-12-21"
    christmas = days[4]
    assert christmas.day == date(2026, 12, 25)
    assert christmas.is_exception is True
    assert christmas.ranges == []
    assert days[0].ranges == [] and days[0].is_exception is False
    assert [str(start) for start, _end in days[1].ranges] == ["08:00:00", "14:00:00"]


@pytest.mark.parametrize(("hours", "problem"), [
    ("always", "not_a_dict"),
    ({"monday": []}, "unknown_key"),
    ({"weekly": {"funday": []}}, "unknown_day"),
    ({"weekly": {"monday": "open"}}, "not_a_list"),
    ({"weekly": {"monday": [["18:00", "08:00"]]}}, "end_before_start"),
    ({"weekly": {"monday": [["08:00", "08:00"]]}}, "end_before_start"),
    ({"weekly": {"monday": [["08:00", "12:30"], ["12:00", "19:00"]]}}, "overlap"),
    ({"weekly": {"monday": [["08:00", "09:00"]] * 4}}, "too_many_ranges"),
    ({"weekly": {"monday": [["25:00", "26:00"]]}}, "bad_time"),
    ({"weekly": {"monday": [["8h", "18h"]]}}, "bad_time"),
    ({"weekly": {"monday": [["08:00"]]}}, "bad_time"),
    ({"weekly": {"monday": [["08:00\x00", "18:00"]]}}, "bad_time"),
    ({"exceptions": {"2026-02-30": []}}, "bad_date"),
    ({"exceptions": {"25/12/2026": []}}, "bad_date"),
])
def test_it_names_the_problem_in_a_bad_value(hours, problem):
    with pytest.raises(HoursError) as error:
        check_hours(hours)
    assert error.value.problem == problem


def test_a_good_value_comes_back_with_its_ranges_sorted():
    assert check_hours({"weekly": {"monday": [["14:00", "19:30"], ["08:00", "12:30"]]}}) == {
        "weekly": {"monday": [["08:00", "12:30"], ["14:00", "19:30"]]}, "exceptions": {}}
    assert check_hours({}) == {}


def test_the_former_one_window_shape_becomes_ranges():
    legacy = {"monday": {"open": "08:00", "close": "18:00", "closed": False},
              "sunday": {"closed": True}, "tuesday": {}, "wednesday": {"open": "08:00"}}
    assert from_legacy(legacy) == {"weekly": {"monday": [["08:00", "18:00"]], "sunday": []},
                                   "exceptions": {}}
    assert from_legacy({}) == {}
    assert from_legacy(BAKERY) == BAKERY


@pytest.mark.django_db
def test_the_data_migration_turns_stored_windows_into_ranges(business):
    from importlib import import_module

    from django.apps import apps

    from businesses.models import Business

    legacy = {"monday": {"open": "08:00", "close": "18:00", "closed": False},
              "sunday": {"closed": True}}
    Business.objects.filter(pk=business.pk).update(opening_hours=legacy)
    migration = import_module("businesses.migrations.0005_h6_opening_ranges")
    migration.to_ranges(apps, None)
    business.refresh_from_db()
    assert business.opening_hours == {
        "weekly": {"monday": [["08:00", "18:00"]], "sunday": []}, "exceptions": {}}
    assert is_open_at(business.opening_hours, paris("2026-12-07 09:00"), PARIS) is True
    assert is_open_at(business.opening_hours, paris("2026-12-06 09:00"), PARIS) is False
