from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from businesses.models import Business
from queues import services
from queues.models import QueueEntry
from queues.services import JoinAvailability
from waitify.lib.opening_hours import DayHours
from waitify.lib.phones import mask_phone as mask

register = template.Library()


@register.filter
def mask_phone(phone: str) -> str:
    return mask(phone)


@register.filter
def deadline(entry: QueueEntry, business: Business) -> str:
    """When a called customer times out, as ISO 8601 for the countdown."""
    if not entry.called_at:
        return ""
    return (entry.called_at + timedelta(minutes=business.client_timeout_minutes)).isoformat()


# Inside a sentence French writes weekdays in lowercase ("lundi à 08:00"), while the
# date format's names start with a capital for headings.
WEEKDAYS_IN_A_SENTENCE = (
    pgettext_lazy("in a sentence", "Monday"), pgettext_lazy("in a sentence", "Tuesday"),
    pgettext_lazy("in a sentence", "Wednesday"), pgettext_lazy("in a sentence", "Thursday"),
    pgettext_lazy("in a sentence", "Friday"), pgettext_lazy("in a sentence", "Saturday"),
    pgettext_lazy("in a sentence", "Sunday"),
)


@register.filter
def reopening(availability: JoinAvailability, now: datetime | None = None) -> str:
    """When joins open again on the shop's clock: "today at 14:00", "tomorrow at 08:00",
    "Monday at 08:00" (French: "lundi à 08:00"), or with the date beyond a week."""
    moment = availability.reopens_at
    if moment is None:
        return ""
    zone = availability.zone
    local = moment.astimezone(zone)
    days = (local.date() - (now or timezone.now()).astimezone(zone).date()).days
    clock = local.strftime("%H:%M")
    if days <= 0:
        return _("today at %(time)s") % {"time": clock}
    if days == 1:
        return _("tomorrow at %(time)s") % {"time": clock}
    day = str(WEEKDAYS_IN_A_SENTENCE[local.weekday()])
    if days >= 7:
        day = f"{day} {date_format(local, 'j F')}"
    return _("%(day)s at %(time)s") % {"day": day, "time": clock}


@register.filter
def hour_ranges(day: DayHours) -> str:
    """A day's hours as a shop door shows them: "08:00–12:30, 14:00–19:30"."""
    if day.ranges is None:
        return _("open whenever the queue is")
    if not day.ranges:
        return _("closed")
    return ", ".join(f"{start:%H:%M}–{end:%H:%M}" if end else f"{start:%H:%M}–24:00"
                     for start, end in day.ranges)


@register.filter
def clock(moment: datetime | None, zone) -> str:
    """HH:MM of a moment on the shop's clock."""
    return moment.astimezone(zone).strftime("%H:%M") if moment else ""


@register.simple_tag
def join_availability(business: Business, waiting: int) -> JoinAvailability:
    """Whether customers can join `business` now, for the merchant's pages."""
    return services.join_availability(business, waiting)


# How often a customer's status page asks for news, in seconds. The places the next calls
# can reach at once (one per open counter, and the next in line) ask every 4 s, so a call
# shows within 5 s; the place behind them every 10 s, the others every 20 s (a call moves
# a place at a time, the countdown runs on the page between polls, and the SMS tells them
# anyway).
# Whatever the interval, the page asks at once when it comes back into view
# (static/js/repoll.js). The shop display asks every 4 s too (display_board.html), the
# merchant's live screen every 5 s (live_panel.html): what the merchant does shows at once.
POLL_HEAD_SECONDS, POLL_STEP_SECONDS, POLL_MAX_SECONDS = 4, 10, 20
POLL_CALLED_SECONDS, POLL_OTHER_SECONDS = 5, 10


@register.filter
def poll_seconds(status) -> int:
    """The status card's poll interval for this customer (`status`: a CustomerStatus)."""
    if status.position:
        beyond = status.position - (status.open_counters + 1)
        if beyond <= 0:
            return POLL_HEAD_SECONDS
        return min(POLL_STEP_SECONDS * beyond, POLL_MAX_SECONDS)
    if status.is_your_turn:
        return POLL_CALLED_SECONDS
    return POLL_OTHER_SECONDS


@register.filter
def wait_minutes(estimate, part: str = "point"):
    """One figure of a wait estimate in minutes, in a span the page counts down between
    two polls (static/js/wait_countdown.js): `part` is "point", "low" or "high"."""
    if part == "low":
        minutes, seconds, rounding = estimate.low, estimate.low_seconds, "down"
    elif part == "high":
        minutes, seconds, rounding = estimate.high, estimate.high * 60, "up"
    else:
        minutes, seconds, rounding = estimate.minutes, estimate.seconds, "near"
    return format_html('<span class="wait-minutes" data-countdown-seconds="{}" '
                       'data-round="{}">{}</span>', int(seconds), rounding, minutes)
