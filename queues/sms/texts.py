"""The text of each SMS: what the customer reads, in their language, in one segment if it can.

Pure functions of the entry and its business (plus the position when it is
not known yet): `compose_sms` is called when the outbox row is written.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from businesses.models import Business
from queues.models import CancelledBy, QueueEntry, SmsType
from queues.services import REJOIN_WINDOW, entry_position, queue_state_of, wait_estimate
from queues.sms.gsm7 import GSM7_SINGLE, is_gsm7, segment_count, septet_length, to_gsm7

REJOIN_MINUTES = int(REJOIN_WINDOW.total_seconds() // 60)  # said in the "missed" text
SHORTEST_NAME = 20  # a long business name is cut down to this to keep one segment

def _wait_label(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    if minutes < 90:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours}h{rest:02d}"


def _reminder_wait_seconds(entry: QueueEntry, business: Business) -> int:
    """The wait of the third in line, by the estimate the status page shows."""
    state = queue_state_of(business)
    return wait_estimate(business, state, 3, service=entry.service).told_seconds


def _status_link(entry: QueueEntry) -> str:
    return f"{settings.SITE_URL}{reverse('queues:status', args=[entry.secret])}"


def _position(entry: QueueEntry) -> int:
    # entry_join sets it; an entry called before its confirmation went out is first.
    return getattr(entry, "position", None) or entry_position(entry) or 1


def _counter_to_name(entry: QueueEntry, business: Business) -> str:
    """The counter the customer is called to, when the business has several ("" else:
    a single-counter shop's text stays as it was)."""
    state = queue_state_of(business)
    if entry.counter_id is None or state is None or state.counters_count < 2:
        return ""
    return entry.counter.name


def _body(sms_type: str, entry: QueueEntry, business: Business, name: str) -> str:
    values = {"name": name, "ticket": entry.ticket_label}
    if sms_type == SmsType.CONFIRMATION:
        return _("%(name)s: ticket %(ticket)s, position %(position)s, wait ~%(wait)s. "
                 "Follow it: %(link)s") % {
            **values, "position": _position(entry),
            "wait": _wait_label(entry.estimated_wait_seconds), "link": _status_link(entry)}
    if sms_type == SmsType.REMINDER:
        return _("%(name)s: only 2 people ahead of you now (ticket %(ticket)s), your turn "
                 "in ~%(wait)s. Please head back to the counter.") % {
            **values, "wait": _wait_label(_reminder_wait_seconds(entry, business))}
    if sms_type == SmsType.YOUR_TURN:
        minutes = business.client_timeout_minutes
        counter = _counter_to_name(entry, business)
        if counter:
            return ngettext("%(name)s: it's your turn! Ticket %(ticket)s: please come to "
                            "%(counter)s within %(minutes)s min.",
                            "%(name)s: it's your turn! Ticket %(ticket)s: please come to "
                            "%(counter)s within %(minutes)s min.",
                            minutes) % {**values, "minutes": minutes,
                                        "counter": to_gsm7(counter)}
        return ngettext("%(name)s: it's your turn! Ticket %(ticket)s: please come to the "
                        "counter within %(minutes)s min.",
                        "%(name)s: it's your turn! Ticket %(ticket)s: please come to the "
                        "counter within %(minutes)s min.",
                        minutes) % {**values, "minutes": minutes}
    if sms_type == SmsType.MISSED:
        return _("%(name)s: ticket %(ticket)s missed. Get back in 2nd place within "
                 "%(minutes)s min: %(link)s") % {**values, "minutes": REJOIN_MINUTES,
                                                  "link": _status_link(entry)}
    if sms_type == SmsType.LINK:
        return _("%(name)s: your ticket %(ticket)s. Follow your turn here: %(link)s") % {
            **values, "link": _status_link(entry)}
    if entry.cancelled_by == CancelledBy.SHOP_CLOSED:
        return _("%(name)s has closed its queue: your ticket %(ticket)s is cancelled. "
                 "Sorry for the wait.") % values
    return _("%(name)s: your ticket %(ticket)s is cancelled. You can take a new one "
             "at any time.") % values


def _with_custom_message(body: str, custom: str) -> str:
    return to_gsm7(f"{body} {custom}" if custom else body)


def _shortened(name: str, length: int) -> str:
    """`name` cut to at most `length` characters, at a word boundary when one is near, + "."."""
    cut = name[:length]
    if len(cut) < len(name) and " " in cut[SHORTEST_NAME:]:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" -,.") + "."


def compose_sms(sms_type: str, *, entry: QueueEntry, business: Business) -> str:
    """The exact text of one SMS, in the customer's language (French unless English).

    Aims for one GSM-7 segment: typography and accents GSM-7 lacks are
    replaced, and a long business name is shortened when that is what it
    takes to fit in 160 characters.
    """
    language = "en" if (entry.language or "").lower().startswith("en") else "fr"
    name = to_gsm7(business.name.strip())
    custom = to_gsm7((business.custom_message or "").strip())
    with translation.override(language):
        text = _with_custom_message(_body(sms_type, entry, business, name), custom)
        overflow = septet_length(text) - GSM7_SINGLE
        if overflow > 0 and is_gsm7(text) and len(name) - overflow - 1 >= SHORTEST_NAME:
            short_name = _shortened(name, len(name) - overflow - 1)
            shorter = _with_custom_message(_body(sms_type, entry, business, short_name), custom)
            if segment_count(shorter) == 1:
                return shorter
    return text
