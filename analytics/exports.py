"""Downloads: a business's daily history as CSV, a merchant's whole account as JSON."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from django.utils import timezone
from django.utils.translation import pgettext_lazy

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


# The column titles of the spreadsheet a French merchant opens; the standard file keeps
# the machine names above as its header.
CSV_TITLES = {
    "date": pgettext_lazy("CSV column", "Date"),
    "registered": pgettext_lazy("CSV column", "Registered"),
    "served": pgettext_lazy("CSV column", "Served"),
    "missed": pgettext_lazy("CSV column", "Missed"),
    "cancelled": pgettext_lazy("CSV column", "Cancelled"),
    "abandonment_rate": pgettext_lazy("CSV column", "Abandonment rate (%)"),
    "average_wait_minutes": pgettext_lazy("CSV column", "Average wait (min)"),
    "average_service_seconds": pgettext_lazy("CSV column", "Average service time (s)"),
    "estimate_error_minutes": pgettext_lazy("CSV column", "Estimate error (min)"),
    "peak_hour": pgettext_lazy("CSV column", "Peak hour"),
    "peak_queue_size": pgettext_lazy("CSV column", "Longest queue"),
    "busiest_window_start": pgettext_lazy("CSV column", "Busiest hour from"),
    "busiest_window_end": pgettext_lazy("CSV column", "Busiest hour until"),
    "sms_sent": pgettext_lazy("CSV column", "SMS sent"),
    "revenue_lost_euros": pgettext_lazy("CSV column", "Revenue lost (€)"),
}


def _cell(value, decimal_mark: str = ".") -> str:
    if value is None:
        return ""
    if hasattr(value, "strftime") and hasattr(value, "hour"):
        return value.strftime("%H:%M")
    return str(value).replace(".", decimal_mark)


def daily_history_csv(rows: Iterable[DailyStat], *, for_french_excel: bool = False) -> str:
    """One line per day.

    The standard file is machine-readable: commas, ISO dates, dot decimals, no thousands
    marks, English column names. French Excel reads a CSV with the system's list
    separator and decimal mark and, without a byte order mark, as Windows-1252: for a
    French merchant the file has a BOM, semicolons, decimal commas, French dates and
    French column titles, so that it opens in columns with its accents intact.
    """
    out = io.StringIO()
    if for_french_excel:
        out.write("\ufeff")
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow([str(CSV_TITLES[column]) for column in CSV_COLUMNS])
        mark, day_format = ",", "%d/%m/%Y"
    else:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        mark, day_format = ".", "%Y-%m-%d"
    for row in rows:
        writer.writerow([
            row.date.strftime(day_format), row.registered, row.served, row.missed,
            row.cancelled, _cell(row.abandonment_rate, mark),
            _cell(row.average_wait_minutes, mark), _cell(row.average_service_seconds, mark),
            _cell(row.estimate_error_minutes, mark), _cell(row.peak_hour),
            row.peak_queue_size, _cell(row.busiest_window_start),
            _cell(row.busiest_window_end), row.sms_sent,
            f"{row.revenue_lost_cents / 100:.2f}".replace(".", mark),
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
