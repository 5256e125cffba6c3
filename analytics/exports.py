"""Downloads: a business's daily history as CSV, a merchant's whole account as JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from django.utils import timezone

from analytics.models import DailyStat
from businesses.models import Business, User
from queues.models import QueueEntry
from waitify.lib.phones import mask_phone

CSV_COLUMNS = [
    "date", "registered", "served", "missed", "cancelled", "abandonment_rate",
    "average_wait_minutes", "average_service_seconds", "estimate_error_minutes",
    "peak_hour", "peak_queue_size", "busiest_window_start", "busiest_window_end",
    "sms_sent", "revenue_lost_euros",
]


def _cell(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "strftime") and hasattr(value, "hour"):
        return value.strftime("%H:%M")
    return str(value)


def daily_history_csv(rows: Iterable[DailyStat]) -> str:
    """One line per day, machine-readable: ISO dates, dot decimals, no thousands marks."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([
            row.date.isoformat(), row.registered, row.served, row.missed, row.cancelled,
            _cell(row.abandonment_rate), _cell(row.average_wait_minutes),
            _cell(row.average_service_seconds), _cell(row.estimate_error_minutes),
            _cell(row.peak_hour), row.peak_queue_size, _cell(row.busiest_window_start),
            _cell(row.busiest_window_end), row.sms_sent,
            f"{row.revenue_lost_cents / 100:.2f}",
        ])
    return out.getvalue()


BUSINESS_FIELDS = [
    "id", "name", "business_type", "phone", "address", "city", "zip_code", "country",
    "average_service_time", "average_basket_cents", "max_queue_size", "opening_hours",
    "custom_message", "sms_enabled", "auto_advance_enabled", "client_timeout_minutes",
    "is_active", "is_queue_open", "is_queue_paused", "created_at", "updated_at",
]
ENTRY_FIELDS = [
    "id", "business_id", "ticket_number", "service_day", "status", "customer_name", "phone",
    "estimated_wait_seconds", "actual_wait_seconds", "actual_service_seconds", "sms_count",
    "created_at", "called_at", "served_at", "finished_at",
]
STAT_FIELDS = ["business_id", "date", *CSV_COLUMNS[1:-1], "revenue_lost_cents"]


def account_data(user: User) -> dict:
    """Everything the account holds, for the merchant's own download: 3 queries.

    Customers' phone numbers stay masked, as everywhere in the merchant's pages;
    entries are those still kept (90 days), the daily figures go back further.
    """
    entries = []
    for entry in (QueueEntry.objects.filter(business__owner=user)
                  .order_by("created_at").values(*ENTRY_FIELDS)):
        entry["phone"] = mask_phone(entry["phone"]) if entry["phone"] else ""
        entries.append(entry)
    return {
        "exported_at": timezone.now(),
        "account": {
            "id": user.pk, "email": user.email, "first_name": user.first_name,
            "last_name": user.last_name, "phone": user.phone,
            "auth_provider": user.auth_provider, "plan": user.plan.name if user.plan else None,
            "subscription_status": user.subscription_status,
            "trial_ends_at": user.trial_ends_at, "daily_digest_enabled":
                user.daily_digest_enabled, "created_at": user.created_at,
        },
        "businesses": list(Business.objects.filter(owner=user).order_by("created_at")
                           .values(*BUSINESS_FIELDS)),
        "queue_entries": entries,
        "daily_stats": list(DailyStat.objects.filter(business__owner=user)
                            .order_by("business_id", "date").values(*STAT_FIELDS)),
    }
