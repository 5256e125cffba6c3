"""GDPR retention: finished entries leave after 90 days, once their day is counted;
SMS log rows stay (billing) without the phone number."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from analytics import services, tasks
from analytics.models import DailyStat
from analytics.tests.factories import at, entry, make_business, served
from queues.models import EntryStatus, QueueEntry, SmsLog

TODAY = date(2026, 6, 30)
EXPIRED_DAY = TODAY - timedelta(days=91)
LAST_KEPT_DAY = TODAY - timedelta(days=90)


@pytest.fixture
def shop(merchant):
    return make_business(merchant, "Centre-Ville")


def old_sms(business, day: date, phone: str = "+33612345678") -> SmsLog:
    sms = SmsLog.objects.create(business=business, phone=phone, type="confirmation", text="…",
                                status="delivered", sent_at=at(day, "10:00"))
    SmsLog.objects.filter(pk=sms.pk).update(created_at=at(day, "10:00"))
    return sms


def test_it_deletes_finished_entries_past_90_days_and_keeps_their_figures(shop):
    expired = [served(shop, EXPIRED_DAY, f"10:0{n}", f"10:1{n}", f"10:2{n}") for n in range(5)]
    missed = entry(shop, at(EXPIRED_DAY, "11:00"), status=EntryStatus.MISSED,
                   called=at(EXPIRED_DAY, "11:05"), finished=at(EXPIRED_DAY, "11:10"))
    kept = served(shop, LAST_KEPT_DAY, "10:00", "10:10", "10:20")
    services.daily_stats_compute(day=EXPIRED_DAY)
    services.daily_stats_compute(day=LAST_KEPT_DAY)

    deleted = services.entries_purge_expired(today=TODAY, batch_size=2)

    assert deleted == 6
    assert not QueueEntry.objects.filter(pk__in=[e.pk for e in [*expired, missed]]).exists()
    assert QueueEntry.objects.filter(pk=kept.pk).exists()
    stat = DailyStat.objects.get(business=shop, date=EXPIRED_DAY)
    assert (stat.registered, stat.served, stat.missed) == (6, 5, 1)


def test_a_day_without_figures_keeps_its_entries_until_it_is_computed(shop):
    waiting_for_figures = served(shop, EXPIRED_DAY, "10:00", "10:10", "10:20")

    assert services.entries_purge_expired(today=TODAY) == 0
    assert QueueEntry.objects.filter(pk=waiting_for_figures.pk).exists()

    services.daily_stats_compute(day=EXPIRED_DAY)
    assert services.entries_purge_expired(today=TODAY) == 1


def test_figures_of_another_business_do_not_release_entries(shop, merchant):
    other = make_business(merchant, "Quartier Gare")
    served(shop, EXPIRED_DAY, "10:00", "10:10", "10:20")
    services.daily_stats_compute(day=EXPIRED_DAY, businesses=type(other).objects.filter(
        pk=other.pk))

    assert services.entries_purge_expired(today=TODAY) == 0


def test_live_entries_are_never_deleted(shop):
    stuck = entry(shop, at(EXPIRED_DAY, "10:00"), status=EntryStatus.WAITING)
    services.daily_stats_compute(day=EXPIRED_DAY)

    assert services.entries_purge_expired(today=TODAY) == 0
    assert QueueEntry.objects.filter(pk=stuck.pk).exists()


def test_it_blanks_old_sms_phones_and_keeps_the_rows(shop):
    old = [old_sms(shop, EXPIRED_DAY) for _ in range(3)]
    recent = old_sms(shop, LAST_KEPT_DAY)

    blanked = services.sms_logs_forget_phones(today=TODAY, batch_size=2)

    assert blanked == 3
    assert set(SmsLog.objects.filter(pk__in=[s.pk for s in old]).values_list("phone", flat=True)
               ) == {""}
    assert SmsLog.objects.filter(pk__in=[s.pk for s in old]).count() == 3
    assert SmsLog.objects.get(pk=recent.pk).phone == "+33612345678"


def test_an_sms_of_a_deleted_entry_stays_for_billing(shop):
    gone = served(shop, EXPIRED_DAY, "10:00", "10:10", "10:20")
    sms = old_sms(shop, EXPIRED_DAY)
    SmsLog.objects.filter(pk=sms.pk).update(entry=gone)
    services.daily_stats_compute(day=EXPIRED_DAY)

    services.entries_purge_expired(today=TODAY)

    sms.refresh_from_db()
    assert sms.entry_id is None and sms.status == "delivered"


def test_the_retention_task_is_idempotent(shop, time_machine):
    time_machine.move_to(at(TODAY, "02:00"), tick=False)
    served(shop, EXPIRED_DAY, "10:00", "10:10", "10:20")
    old_sms(shop, EXPIRED_DAY)
    services.daily_stats_compute(day=EXPIRED_DAY)

    first = tasks.apply_retention.delay().get()
    second = tasks.apply_retention.delay().get()

    assert first == {"entries_deleted": 1, "sms_phones_blanked": 1}
    assert second == {"entries_deleted": 0, "sms_phones_blanked": 0}
    assert DailyStat.objects.get(business=shop, date=EXPIRED_DAY).served == 1
