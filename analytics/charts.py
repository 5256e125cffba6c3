"""Bar charts drawn on the server as inline SVG: no script, no CDN.

The plot is an SVG stretched to its box (`preserveAspectRatio="none"`, strokes
that do not scale), while every piece of text (axis values, day and hour
labels) is HTML around it, so labels keep a readable size from a 320 px phone
to a desktop. Every number handed to the template is already a string: Django
would localise floats ("12,5") inside SVG and CSS.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from analytics.selectors import DayPoint, PeriodFigures, hour_label

SLOT = 10.0  # width of one bar's slot in SVG units; the plot is SLOT * n wide, 100 high
BAR = 7.0
MIN_HOURS_SHOWN = 8


@dataclass
class Segment:
    y: str
    height: str
    css: str


@dataclass
class Bar:
    x: str
    width: str
    segments: list[Segment]
    title: str


@dataclass
class Tick:
    bottom: str  # percent of the plot height
    y: str  # SVG units
    label: str


@dataclass
class Chart:
    slug: str
    title: str
    note: str
    width: str
    bars: list[Bar]
    ticks: list[Tick]
    x_labels: list[str]
    table_head: tuple[str, ...]
    table: list[tuple[str, ...]]
    legend: list[tuple[str, str]] = field(default_factory=list)
    threshold: Tick | None = None

    @property
    def columns(self) -> int:
        return len(self.x_labels)

    @property
    def is_empty(self) -> bool:
        return not any(bar.segments for bar in self.bars)


def _number(value: float) -> str:
    return f"{value:.2f}"


def nice_top(value: float) -> tuple[float, float]:
    """An axis top and step of 1, 2 or 5 × 10^k giving 2 to 5 gridlines."""
    if value <= 0:
        return 4.0, 1.0
    raw_step = value / 4
    magnitude = 10 ** math.floor(math.log10(raw_step))
    for multiple in (1, 2, 5, 10):
        step = multiple * magnitude
        if step >= raw_step:
            break
    step = max(step, 1.0)
    return step * math.ceil(value / step), step


def _ticks(top: float, step: float, unit: str = "") -> list[Tick]:
    ticks, value = [], step
    while value <= top + 1e-9:
        share = value / top
        label = formats.number_format(value, 0 if step >= 1 else 1)
        ticks.append(Tick(bottom=_number(share * 100), y=_number(100 - share * 100),
                          label=f"{label}{unit}"))
        value += step
    return ticks


def _bars(stacks: Sequence[Sequence[tuple[float, str]]], titles: Sequence[str],
          top: float) -> list[Bar]:
    bars = []
    for index, (stack, title) in enumerate(zip(stacks, titles, strict=True)):
        segments, base = [], 0.0
        for value, css in stack:
            if value <= 0:
                continue
            height = value / top * 100
            segments.append(Segment(y=_number(100 - base - height), height=_number(height),
                                    css=css))
            base += height
        bars.append(Bar(x=_number(index * SLOT + (SLOT - BAR) / 2), width=_number(BAR),
                        segments=segments, title=title))
    return bars


def _sparse(labels: list[str], every: int) -> list[str]:
    return [label if index % every == 0 else "" for index, label in enumerate(labels)]


def _one_decimal(value: float) -> str:
    return formats.number_format(value, 1)


def customers_per_hour_chart(figures: PeriodFigures) -> Chart:
    """Average customers joining in each hour of the day, over days with customers."""
    values = figures.customers_per_hour
    busy = [hour for hour in range(24) if figures.joins_by_hour[hour]]
    first, last = (busy[0], busy[-1]) if busy else (8, 19)
    while last - first + 1 < MIN_HOURS_SHOWN:
        first, last = max(0, first - 1), min(23, last + 1)
    hours = list(range(first, last + 1))
    top, step = nice_top(max(values[hour] for hour in hours))
    titles = [_("%(hour)s: %(count)s customers on average") % {
        "hour": hour_label(hour), "count": _one_decimal(values[hour])} for hour in hours]
    labels = [f"{hour}h" for hour in hours]
    return Chart(
        slug="hours", title=_("Customers per hour"),
        note=_("average per day, by hour of arrival"),
        width=_number(len(hours) * SLOT),
        bars=_bars([[(values[hour], "bar")] for hour in hours], titles, top),
        ticks=_ticks(top, step), x_labels=_sparse(labels, 2 if len(hours) > 10 else 1),
        table_head=(_("Hour"), _("Customers per day")),
        table=[(hour_label(hour), _one_decimal(values[hour])) for hour in hours],
    )


def _day_labels(days: Sequence[DayPoint]) -> list[str]:
    if len(days) <= 7:
        return [formats.date_format(point.day, "D j") for point in days]
    every = max(1, math.ceil(len(days) / 6))
    return [formats.date_format(point.day, "j/m") if index % every == 0 else ""
            for index, point in enumerate(days)]


def _day_names(days: Sequence[DayPoint]) -> list[str]:
    # Translated format: French abbreviates months in lowercase with a period ("nov.").
    day_format = pgettext("date format: weekday, day and short month", "D j M")
    return [formats.date_format(point.day, day_format) for point in days]


def served_per_day_chart(days: Sequence[DayPoint]) -> Chart:
    """Customers served per day, with those who left (missed or cancelled) on top."""
    top, step = nice_top(max((point.served + point.abandoned for point in days), default=0))
    names = _day_names(days)
    served = pgettext("figures", "Served")
    return Chart(
        slug="served", title=_("Served per day"), note="",
        width=_number(len(days) * SLOT),
        bars=_bars([[(point.served, "bar"), (point.abandoned, "bar-lost")] for point in days],
                   [_("%(day)s: %(served)s served, %(left)s left") % {
                       "day": name, "served": point.served, "left": point.abandoned}
                    for name, point in zip(names, days, strict=True)], top),
        ticks=_ticks(top, step), x_labels=_day_labels(days),
        legend=[("bar", served), ("bar-lost", _("Missed or cancelled"))],
        table_head=(_("Day"), served, _("Missed or cancelled")),
        table=[(name, str(point.served), str(point.abandoned))
               for name, point in zip(names, days, strict=True)],
    )


def wait_per_day_chart(days: Sequence[DayPoint], *, threshold_minutes: int = 15) -> Chart:
    """Average real wait (join to call) per day, against the long-wait threshold."""
    names = _day_names(days)
    waits = [point.average_wait_minutes for point in days]
    top, step = nice_top(max(max((wait or 0.0 for wait in waits), default=0), 1))
    titles = [_("%(day)s: %(minutes)s min on average") % {"day": name,
                                                          "minutes": _one_decimal(wait)}
              if wait is not None else _("%(day)s: no wait measured") % {"day": name}
              for name, wait in zip(names, waits, strict=True)]
    threshold = None
    if top >= threshold_minutes:
        share = threshold_minutes / top
        threshold = Tick(bottom=_number(share * 100), y=_number(100 - share * 100),
                         label=f"{threshold_minutes} min")
    return Chart(
        slug="waits", title=_("Average wait per day"),
        note=_("minutes, from joining to being called"),
        width=_number(len(days) * SLOT),
        bars=_bars([[(wait or 0.0, "bar-wait" if (wait or 0) < threshold_minutes
                      else "bar-long")] for wait in waits], titles, top),
        ticks=_ticks(top, step), x_labels=_day_labels(days), threshold=threshold,
        table_head=(_("Day"), _("Average wait (min)")),
        table=[(name, _one_decimal(wait) if wait is not None else "–")
               for name, wait in zip(names, waits, strict=True)],
    )
