"""The nightly computation against a day computed by hand, field by field.

Saturday 14 March 2026 at "Centre-Ville" (Europe/Paris, UTC+1 that day), average
basket 12.50 €:

    entry  joins  est.  called  then                 real wait  |error|
    E1     08:50   5    09:00   served 09:05 (300 s)   10 min     5
    E2     09:20  10    09:35   served 09:40 (300 s)   15 min     5
    E3     09:25  15      –     cancelled 09:45          –        –
    E4     09:50  10    10:20   missed 10:25           30 min    20
    E5     10:10  20    10:30   served 10:36 (360 s)   20 min     0
    E6     10:12  25      –     cancelled 10:13          –        –
    E7     17:05   0    17:06   served 17:10 (240 s)    1 min     1

registered 7, served 4, missed 1, cancelled 2; average wait 76/5 = 15.2 min;
average service 1200/4 = 300 s; estimate error 31/5 = 6.2 min; abandonment
3/7 = 42.86 %; revenue lost 3 × 1250 = 3750 cents.

Waiting line (+1 join, -1 called or cancelled): 1 (08:50), 0, 1 (09:20), 2
(09:25), 1, 0, 1 (09:50), 2 (10:10), 3 (10:12), 2, 1, 0, 1 (17:05), 0: peak 3,
reached at 10:12, peak hour 10.

Joins per quarter hour: 08:45 1, 09:15 2, 09:45 1, 10:00 2, 17:00 1; the hour
from 09:15 holds 2+1+2 = 5, more than any other: busiest window 09:15–10:15.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from analytics import services
from analytics.models import DailyStat
from analytics.tests.factories import at, entry, hours, make_business, served
from businesses.tests.factories import make_merchant
from queues.models import EntryStatus, SmsLog

SATURDAY = date(2026, 3, 14)


@pytest.fixture
def centre(merchant):
    return make_business(merchant, "Centre-Ville", basket_cents=1250)


@pytest.fixture
def saturday(centre):
    day = SATURDAY
    served(centre, day, "08:50", "09:00", "09:05", estimated=5)
    served(centre, day, "09:20", "09:35", "09:40", estimated=10)
    entry(centre, at(day, "09:25"), status=EntryStatus.CANCELLED,
          finished=at(day, "09:45"), estimated_minutes=15)
    entry(centre, at(day, "09:50"), status=EntryStatus.MISSED, called=at(day, "10:20"),
          finished=at(day, "10:25"), estimated_minutes=10)
    served(centre, day, "10:10", "10:30", "10:36", estimated=20)
    entry(centre, at(day, "10:12"), status=EntryStatus.CANCELLED,
          finished=at(day, "10:13"), estimated_minutes=25)
    served(centre, day, "17:05", "17:06", "17:10", estimated=0)
    # SMS: three sent and one delivered that day; a failure and one sent the day
    # before do not count.
    for status, sent in [("sent", at(day, "09:00")), ("sent", at(day, "09:35")),
                         ("delivered", at(day, "10:20")), ("sent", at(day, "17:06")),
                         ("failed", at(day, "10:30")),
                         ("sent", at(day - timedelta(days=1), "18:00"))]:
        sms = SmsLog.objects.create(business=centre, phone="+33612345678", type="reminder",
                                    text="…", status=status, sent_at=sent)
        SmsLog.objects.filter(pk=sms.pk).update(created_at=sent)
    return centre


def row_of(business, day=SATURDAY) -> DailyStat:
    return DailyStat.objects.get(business=business, date=day)


def test_it_computes_every_field_of_the_hand_computed_day(saturday):
    written = services.daily_stats_compute(day=SATURDAY)

    stat = row_of(saturday)
    assert written == 1
    assert (stat.registered, stat.served, stat.missed, stat.cancelled) == (7, 4, 1, 2)
    assert stat.average_wait_minutes == Decimal("15.2")
    assert stat.waits_measured == 5
    assert stat.average_service_seconds == 300
    assert stat.estimate_error_minutes == Decimal("6.2")
    assert stat.abandonment_rate == Decimal("42.86")
    assert stat.revenue_lost_cents == 3 * 1250
    assert stat.sms_sent == 4
    assert stat.peak_queue_size == 3
    assert stat.peak_hour == 10
    assert (stat.busiest_window_start, stat.busiest_window_end) == (time(9, 15), time(10, 15))
    assert stat.joins_by_hour == hours(h8=1, h9=3, h10=2, h17=1)
    assert stat.waits_by_hour == hours(h8=1, h9=2, h10=1, h17=1)
    assert stat.wait_seconds_by_hour == hours(h8=600, h9=900 + 1800, h10=1200, h17=60)


def test_a_business_without_customers_gets_a_row_of_zeros(saturday, merchant):
    quiet = make_business(merchant, "Quartier Gare")

    services.daily_stats_compute(day=SATURDAY)

    stat = row_of(quiet)
    assert (stat.registered, stat.served, stat.missed, stat.cancelled) == (0, 0, 0, 0)
    assert stat.average_wait_minutes is None and stat.abandonment_rate is None
    assert stat.peak_queue_size == 0 and stat.peak_hour is None
    assert stat.busiest_window_start is None and stat.busiest_window_end is None
    assert stat.revenue_lost_cents == 0 and stat.sms_sent == 0
    assert stat.joins_by_hour == [0] * 24


def test_days_are_paris_days(merchant):
    edge = make_business(merchant, "Bord")
    day = SATURDAY
    for joined in [at(day - timedelta(days=1), "23:59:59"), at(day, "00:00"),
                   at(day, "23:59:59"), at(day + timedelta(days=1), "00:00")]:
        entry(edge, joined, status=EntryStatus.CANCELLED, finished=joined)

    services.daily_stats_compute(day=day)

    stat = row_of(edge)
    assert stat.registered == 2
    assert stat.joins_by_hour == hours(h0=1, h23=1)


def test_the_spring_forward_day_has_23_hours_and_keeps_wall_clock_times(merchant):
    # 29 March 2026: at 02:00 the clocks jump to 03:00. 01:30 and 03:30 are one real
    # hour apart; the busiest window still reads in wall-clock time.
    spring = make_business(merchant, "Printemps")
    day = date(2026, 3, 29)
    for clock in ["01:30", "03:30", "03:40"]:
        entry(spring, at(day, clock), status=EntryStatus.CANCELLED, finished=at(day, clock))

    services.daily_stats_compute(day=day)

    stat = row_of(spring, day)
    assert stat.registered == 3
    assert stat.joins_by_hour == hours(h1=1, h3=2)
    assert (stat.busiest_window_start, stat.busiest_window_end) == (time(3, 30), time(4, 30))
    # Each left the line the moment it joined: nobody ever waited.
    assert stat.peak_queue_size == 0 and stat.peak_hour is None


def test_the_fall_back_day_counts_both_half_past_two(merchant):
    autumn = make_business(merchant, "Automne")
    day = date(2026, 10, 25)
    from datetime import UTC, datetime

    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 summer time
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 winter time
    entry(autumn, first, status=EntryStatus.WAITING)
    entry(autumn, second, status=EntryStatus.WAITING)

    services.daily_stats_compute(day=day)

    stat = row_of(autumn, day)
    assert stat.registered == 2 and stat.joins_by_hour == hours(h2=2)
    # Nobody left: two people waiting at once, from the second half past two.
    assert stat.peak_queue_size == 2 and stat.peak_hour == 2


def test_a_departure_at_the_instant_of_a_join_is_counted_first(merchant):
    shop = make_business(merchant, "Instant")
    day = SATURDAY
    served(shop, day, "09:00", "09:10", "09:12")
    served(shop, day, "09:10", "09:10", "09:15")  # joins as the other is called: called at once

    services.daily_stats_compute(day=day)

    assert row_of(shop).peak_queue_size == 1


def test_running_it_twice_gives_the_same_rows(saturday, merchant):
    make_business(merchant, "Quartier Gare")
    services.daily_stats_compute(day=SATURDAY)
    first = list(DailyStat.objects.order_by("business_id").values())

    services.daily_stats_compute(day=SATURDAY)

    second = list(DailyStat.objects.order_by("business_id").values())
    for row in first + second:
        row.pop("computed_at")
    assert second == first


def test_a_second_run_picks_up_what_changed_since(saturday):
    services.daily_stats_compute(day=SATURDAY)
    late = entry(saturday, at(SATURDAY, "18:00"), status=EntryStatus.WAITING)
    services.daily_stats_compute(day=SATURDAY)
    assert row_of(saturday).registered == 8

    late.delete()
    services.daily_stats_compute(day=SATURDAY)

    assert row_of(saturday).registered == 7
    assert DailyStat.objects.filter(business=saturday).count() == 1


def test_it_can_be_limited_to_some_businesses(saturday, merchant):
    other = make_business(merchant, "Quartier Gare")
    entry(other, at(SATURDAY, "12:00"), status=EntryStatus.CANCELLED,
          finished=at(SATURDAY, "12:05"))

    services.daily_stats_compute(day=SATURDAY, businesses=saturday.__class__.objects.filter(
        pk=other.pk))

    assert not DailyStat.objects.filter(business=saturday).exists()
    assert row_of(other).registered == 1 and row_of(other).peak_queue_size == 1


def test_a_business_created_later_gets_no_row_for_earlier_days(merchant):
    newcomer = make_business(merchant, "Nouveau")
    newcomer.__class__.objects.filter(pk=newcomer.pk).update(
        created_at=at(SATURDAY + timedelta(days=2), "10:00"))

    services.daily_stats_compute(day=SATURDAY)

    assert not DailyStat.objects.filter(business=newcomer).exists()


def test_the_query_count_does_not_grow_with_businesses(db):
    def queries_for(count: int) -> int:
        DailyStat.objects.all().delete()
        owner = make_merchant(f"owner{count}@example.fr", plan="enterprise")
        for index in range(count):
            shop = make_business(owner, f"Shop {index}")
            served(shop, SATURDAY, "09:00", "09:05", "09:10")
        with CaptureQueriesContext(connection) as context:
            services.daily_stats_compute(day=SATURDAY)
        return len(context.captured_queries)

    one, five = queries_for(1), queries_for(5)
    assert one == five
    assert one == 7  # businesses, hours, window query, SMS, savepoint, upsert, release


def test_the_database_refuses_impossible_rows(centre):
    bad_rows = [
        {"abandonment_rate": Decimal("100.01"), "registered": 1},
        {"peak_hour": 24},
        {"registered": 1, "served": 1, "missed": 1},
        {"busiest_window_start": time(9), "busiest_window_end": None},
    ]
    for fields in bad_rows:
        with pytest.raises(IntegrityError), transaction.atomic():
            DailyStat.objects.create(business=centre, date=SATURDAY, **fields)
    DailyStat.objects.create(business=centre, date=SATURDAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        DailyStat.objects.create(business=centre, date=SATURDAY)


# --- Back-fill -------------------------------------------------------------------------------

def test_the_command_back_fills_a_range_of_days(saturday, merchant, capsys):
    make_business(merchant, "Quartier Gare")
    friday = SATURDAY - timedelta(days=1)
    served(saturday, friday, "12:00", "12:10", "12:15")

    call_command("compute_daily_stats", "--from", "2026-03-13", "--to", "2026-03-15")

    assert DailyStat.objects.count() == 2 * 3
    assert row_of(saturday, friday).served == 1
    assert row_of(saturday).registered == 7
    assert row_of(saturday, SATURDAY + timedelta(days=1)).registered == 0
    assert "6 rows for 3 day(s)" in capsys.readouterr().out

    call_command("compute_daily_stats", "--from", "2026-03-13", "--to", "2026-03-15")
    assert DailyStat.objects.count() == 6


def test_the_command_refuses_bad_ranges(db):
    with pytest.raises(CommandError):
        call_command("compute_daily_stats", "--from", "2026-03-15", "--to", "2026-03-13")
    with pytest.raises(CommandError):
        call_command("compute_daily_stats", "--from", "14/03/2026")
    with pytest.raises(CommandError):
        call_command("compute_daily_stats", "--from", "2999-01-01")


def test_the_nightly_task_computes_yesterday(db, time_machine):
    from analytics import tasks

    owner = make_merchant("nightly@example.fr", plan="pro")
    shop = make_business(owner, "Nuit")
    time_machine.move_to(at(SATURDAY + timedelta(days=1), "01:00"), tick=False)
    served(shop, SATURDAY, "11:00", "11:05", "11:10")

    tasks.compute_daily_stats.delay()

    assert row_of(shop).served == 1


def test_the_schedule_runs_the_jobs_at_one_and_two_in_the_morning(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE
    nightly, retention = schedule["analytics-daily-stats"], schedule["analytics-retention"]
    assert nightly["task"] == "analytics.compute_daily_stats"
    assert nightly["schedule"].hour == {1} and nightly["schedule"].minute == {0}
    assert retention["task"] == "analytics.apply_retention"
    assert retention["schedule"].hour == {2} and retention["schedule"].minute == {0}
    assert settings.CELERY_TIMEZONE == "Europe/Paris"
