"""Plain-language improvement suggestions, derived from a period's daily figures.

Each rule reads the figures of one business over the period (its DailyStat
rows and their sums) and says, in a sentence, what it saw and what to try.
Thresholds are deliberately simple so a merchant can check them by hand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

if TYPE_CHECKING:
    from analytics.selectors import BusinessPeriod

LONG_WAIT_MINUTES = 15
MIN_WAITS_IN_AN_HOUR = 3  # fewer measured waits on a weekday hour is an anecdote
HIGH_ABANDONMENT_RATE = 15.0
MIN_CUSTOMERS = 10
ESTIMATE_ERROR_MINUTES = 5.0
MAX_SUGGESTIONS = 6

ON_WEEKDAYS = {
    1: gettext_lazy("on Mondays"), 2: gettext_lazy("on Tuesdays"),
    3: gettext_lazy("on Wednesdays"), 4: gettext_lazy("on Thursdays"),
    5: gettext_lazy("on Fridays"), 6: gettext_lazy("on Saturdays"),
    7: gettext_lazy("on Sundays"),
}


@dataclass(frozen=True)
class LongWaits:
    """Consecutive hours of one weekday whose customers waited too long on average."""

    weekday: int  # ISO: 1 = Monday
    first_hour: int
    end_hour: int  # exclusive
    average_minutes: float


def long_wait_stretch(rows: Sequence) -> LongWaits | None:
    """The worst stretch of hours, by weekday, where the average wait of the customers
    who joined in those hours was above LONG_WAIT_MINUTES."""
    waits: dict[int, list[int]] = defaultdict(lambda: [0] * 24)
    seconds: dict[int, list[int]] = defaultdict(lambda: [0] * 24)
    for row in rows:
        weekday = row.date.isoweekday()
        for hour in range(24):
            waits[weekday][hour] += row.waits_by_hour[hour]
            seconds[weekday][hour] += row.wait_seconds_by_hour[hour]
    stretches: list[LongWaits] = []
    for weekday in sorted(waits):
        counted, total = waits[weekday], seconds[weekday]
        run: list[int] = []
        for hour in range(25):
            slow = (hour < 24 and counted[hour] >= MIN_WAITS_IN_AN_HOUR
                    and total[hour] / counted[hour] > LONG_WAIT_MINUTES * 60)
            if slow:
                run.append(hour)
                continue
            if run:
                measured = sum(counted[h] for h in run)
                stretches.append(LongWaits(
                    weekday=weekday, first_hour=run[0], end_hour=run[-1] + 1,
                    average_minutes=sum(total[h] for h in run) / measured / 60))
                run = []
    if not stretches:
        return None
    return max(stretches, key=lambda s: (s.average_minutes, -s.weekday, -s.first_hour))


def _hour(hour: int) -> str:
    return f"{hour % 24:02d}:00"


def improvement_suggestions(items: Sequence[BusinessPeriod]) -> list[str]:
    """What to try, most pressing first: long waits, customers leaving, estimates off,
    then the missing setting that hides lost revenue."""
    waits, leaving, estimates = [], [], []
    without_basket = []
    for item in items:
        name, figures = item.business.name, item.figures
        stretch = long_wait_stretch(item.rows)
        if stretch is not None:
            waits.append((stretch.average_minutes, _(
                "At %(business)s, waits above %(minutes)s min between %(start)s and %(end)s "
                "%(weekdays)s: consider opening a second counter at that time."
            ) % {"business": name, "minutes": LONG_WAIT_MINUTES,
                 "start": _hour(stretch.first_hour), "end": _hour(stretch.end_hour),
                 "weekdays": ON_WEEKDAYS[stretch.weekday]}))
        rate = figures.abandonment_rate
        if rate is not None and rate >= HIGH_ABANDONMENT_RATE \
                and figures.registered >= MIN_CUSTOMERS:
            values = {"business": name, "rate": number_format(rate, 1)}
            if figures.missed >= figures.cancelled:
                text = _("At %(business)s, %(rate)s %% of customers left without being "
                         "served, mostly called customers who did not come back in time: "
                         "give them a longer customer timeout, and keep the SMS "
                         "notifications on.") % values
            else:
                text = _("At %(business)s, %(rate)s %% of customers left without being "
                         "served, mostly by cancelling while they waited: serve faster at "
                         "peak hours or open the queue a little earlier.") % values
            leaving.append((rate, text))
        error = figures.estimate_error_minutes
        if error is not None and error >= ESTIMATE_ERROR_MINUTES \
                and figures.errors_measured >= MIN_CUSTOMERS:
            estimates.append((error, _(
                "At %(business)s, the wait announced to customers was off by %(minutes)s min "
                "on average: check the average service time in its settings."
            ) % {"business": name, "minutes": number_format(error, 0)}))
        if figures.abandoned and not item.business.average_basket_cents:
            without_basket.append(name)
    suggestions = [text for _weight, text in sorted(waits, key=lambda pair: -pair[0])]
    suggestions += [text for _weight, text in sorted(leaving, key=lambda pair: -pair[0])]
    suggestions += [text for _weight, text in sorted(estimates, key=lambda pair: -pair[0])]
    if without_basket:
        suggestions.append(_(
            "Set the average basket of %(businesses)s in the settings to see how much "
            "revenue customers who leave the queue cost you."
        ) % {"businesses": ", ".join(without_basket)})
    return suggestions[:MAX_SUGGESTIONS]
