"""How long a customer will wait, join to call, and how sure we are of it.

Two halves:

- `estimate_wait(inputs, ahead=…, now=…)`: a pure function. From the people
  ahead, the open counters that serve them, how far each counter's current
  service has gone, and the rate at which this line has really moved (one
  "cycle" per call: the service, a no-show's wait, the gap before the next
  call), it gives the median wait and an interval the real wait falls into
  about 80 % of the time.
- `model_refresh(state, business, now)`: gathers those inputs from the
  database under the queue lock, at every change of the queue, into
  `QueueState.estimate_model` (JSON). Reading an estimate (status poll, live
  screen, join page) then costs no query.

The rate is learnt with shrinkage. Prior: the business's long-run cycle
(across days; until there is one, the configured average plus the usual gap
before a call), times its weekday × hour factor when past weeks give enough of
that hour. Today's cycles pull the prior only as far as they disagree with it
beyond their own noise (empirical Bayes): when the configured average is right
the estimate stays on it; when it is off, the line's own pace takes over within
a few dozen calls.

The point told is the median of that wait (what makes the mean error least),
rounded down unless within 20 s of the next minute: a little more than half the
customers come back early, and nobody is told more than 40 s under the median.

The interval comes from the spread of the cycles and the rate's uncertainty
(log-normal), then each end is calibrated on the business's own outcomes:
every call compares the real wait with the range shown at join, and each end
moves until about 10 % of waits fall beyond it (a quantile tracker, so it
cannot oscillate and needs no history stored).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import NormalDist

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay

Z_80 = 1.2816  # 10th and 90th percentiles of the normal distribution
PRIOR_CV = 0.7  # spread of service cycles before we have seen any
PRIOR_REACTION = 10.0  # seconds from a free counter to the next call, before data
PRIOR_LEAVE_SHARE = 0.05  # waiting customers who leave before being called
LEAVE_PRIOR_WEIGHT = 20
DRIFT = 0.05  # relative change of the pace we always allow for (log scale)
# How far off a configured average or last week's pace usually is (log scale): the
# least the day's own cycles are trusted, even when they agree with the prior.
PRIOR_DOUBT = 0.1
HALF_LIFE_CALLS = 40  # recent cycles weigh more: the pace changes in a day
RECENT_CALLS = 150
LOOKBACK = timedelta(hours=8)
HISTORY_WEEKS = 8
HISTORY_PRIOR_WEIGHT = 30
TRACKER_STEP = 0.1
# Where each end of the range starts before the business's own outcomes move it: the
# model's 10 %–90 % from the spread alone comes out a little wide (its short waits are
# "less than 2 minutes", always inside).
START_FACTOR = 0.85
SOON_SECONDS = 120
ROUND_UP_WITHIN = 20  # seconds before the next minute from which the minutes told round up
MODEL_VERSION = 1
# Queue events after which the model is gathered again (a join changes no pace).
REFRESH_ON = frozenset({"called", "served", "missed", "cancelled", "restored", "arrived",
                        "queue_opened", "queue_resumed", "setup_changed"})


@dataclass(frozen=True)
class CounterNow:
    """An open counter: since when it serves its current customer (None: free)."""

    busy_since: float | None = None
    services: tuple[str, ...] = ()  # empty: serves every service


@dataclass(frozen=True)
class EstimateInputs:
    cycle_seconds: float  # one call every this many seconds at one counter
    cycle_cv: float  # spread of one cycle (standard deviation / mean)
    pace_uncertainty: float  # relative standard error of cycle_seconds (log scale)
    reaction_seconds: float  # a free counter calls a waiting customer after this
    leave_share: float  # share of waiting customers who leave before their call
    counters: tuple[CounterNow, ...] = (CounterNow(),)
    low_factor: float = 1.0
    high_factor: float = 1.0


@dataclass(frozen=True)
class WaitEstimate:
    """The wait, join to call: median and ~80 % interval in seconds, and the minutes
    shown (rounded so that the customer is more often early than late)."""

    seconds: int
    low_seconds: int
    high_seconds: int
    soon: bool = False  # next in line with a free counter: "less than 2 minutes"

    @property
    def minutes(self) -> int:
        # Rounded down unless within 20 s of the next minute: told "6 min" the customer
        # comes back a little early rather than late. Not plain rounding down: the
        # median is already the middle of the real waits, and a figure a whole minute
        # under it makes most customers wait longer than told and the error grows.
        return int((self.seconds + ROUND_UP_WITHIN) // 60)

    @property
    def told_seconds(self) -> int:
        """What the customer is told, stored at join and compared with the real wait."""
        return self.minutes * 60

    @property
    def low(self) -> int:
        return int(self.low_seconds // 60)

    @property
    def high(self) -> int:
        return max(self.low + 1, math.ceil(self.high_seconds / 60), self.minutes)

    @property
    def is_range(self) -> bool:
        return self.low != self.high

    @property
    def shown_low_seconds(self) -> int:
        return 0 if self.soon else self.low * 60

    @property
    def shown_high_seconds(self) -> int:
        return SOON_SECONDS if self.soon else self.high * 60


# --- The estimator (pure) ------------------------------------------------------------------

def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))


def residual_seconds(cycle: float, cv: float, elapsed: float) -> float:
    """Expected time left in a cycle that has already lasted `elapsed` seconds, the
    cycle being log-normal: it grows with `elapsed` when the spread is wide (a long
    service in progress is likely a long one)."""
    sigma = math.sqrt(math.log1p(cv * cv))
    mu = math.log(cycle) - sigma * sigma / 2
    if elapsed <= 0:
        return cycle
    z = (math.log(elapsed) - mu) / sigma
    survive = _normal_cdf(-z)
    if survive < 1e-12:  # far in the tail: Mills ratio
        return elapsed * sigma / z
    return max(0.0, cycle * _normal_cdf(sigma - z) / survive - elapsed)


_QUANTILES = tuple((index + 0.5) / 32 for index in range(32))
_NORMAL = NormalDist()


def _sampled_starts(counters: list[CounterNow], cycle: float, cv: float, now: float,
                    reaction: float) -> list[list[float]]:
    """When each counter calls next: its expected remainder when there is one counter;
    with several, 32 stratified draws of every counter's remainder (the first call
    among several counters comes sooner, the last later, than their averages say)."""
    busy = [counter for counter in counters if counter.busy_since is not None]
    if len(counters) == 1 or len(busy) < 2:
        return [[reaction if counter.busy_since is None
                 else residual_seconds(cycle, cv, max(0.0, now - counter.busy_since))
                 for counter in counters]]
    sigma = math.sqrt(math.log1p(cv * cv))
    mu = math.log(cycle) - sigma * sigma / 2
    columns = []
    for index, counter in enumerate(counters):
        if counter.busy_since is None:
            columns.append([reaction] * len(_QUANTILES))
            continue
        elapsed = max(0.0, now - counter.busy_since)
        done = _normal_cdf((math.log(elapsed) - mu) / sigma) if elapsed > 0 else 0.0
        if 1 - done < 1e-9:
            columns.append([residual_seconds(cycle, cv, elapsed)] * len(_QUANTILES))
            continue
        stride = 2 * index + 1  # a different order per counter: draws not in lockstep
        column = []
        for draw in range(len(_QUANTILES)):
            quantile = done + _QUANTILES[(draw * stride + 5 * index) % len(_QUANTILES)] \
                * (1 - done)
            total = math.exp(mu + sigma * _NORMAL.inv_cdf(min(quantile, 1 - 1e-12)))
            column.append(max(0.0, total - elapsed))
        columns.append(column)
    return [list(starts) for starts in zip(*columns, strict=True)]


def _time_of_call(starts: list[float], cycle: float, calls: float) -> float:
    """When the `calls`-th call happens (fractional: interpolated), each counter
    calling at its start, then every `cycle` seconds."""
    whole = max(1, math.floor(calls))
    ordered = sorted(starts)
    if ordered[-1] <= ordered[0] + cycle:  # the counters take turns: no heap needed
        def nth(index: int) -> float:
            rounds, counter = divmod(index, len(ordered))
            return ordered[counter] + rounds * cycle

        fraction = calls - whole
        return nth(whole - 1) + max(0.0, fraction) * (nth(whole) - nth(whole - 1))
    heap = list(starts)
    heapq.heapify(heap)
    times = []
    for _ in range(whole + 1):
        moment = heapq.heappop(heap)
        times.append(moment)
        heapq.heappush(heap, moment + cycle)
    fraction = calls - whole
    return times[whole - 1] + max(0.0, fraction) * (times[whole] - times[whole - 1])


def estimate_wait(inputs: EstimateInputs, *, ahead: int, now: float,
                  service: str | None = None, scale: float = 1.0) -> WaitEstimate:
    """The wait of a customer with `ahead` people before them (in their service), at
    epoch second `now`. `scale`: this service's cycle relative to the business's."""
    counters = [counter for counter in inputs.counters
                if not counter.services or service is None or service in counter.services]
    counters = counters or [CounterNow()]
    width = len(counters)
    cycle = max(5.0, inputs.cycle_seconds * scale)
    cv = inputs.cycle_cv
    ahead = max(0, ahead)
    staying = ahead * (1 - inputs.leave_share)
    samples = _sampled_starts(counters, cycle, cv, now, inputs.reaction_seconds)
    mean = sum(_time_of_call(starts, cycle, 1 + staying) for starts in samples) / len(samples)
    first = sum(min(starts) for starts in samples) / len(samples)
    queue_part = max(0.0, mean - first)
    # Spread: the cycles to go by (renewal processes in parallel), the current
    # services' remainders, the pace's own uncertainty, who leaves ahead.
    variance = ((staying * (cycle * cv) ** 2) / width ** 2
                + (first * min(cv, 1.0)) ** 2
                + (queue_part * math.hypot(inputs.pace_uncertainty, DRIFT)) ** 2
                + ahead * inputs.leave_share * (1 - inputs.leave_share) * (cycle / width) ** 2
                + (inputs.reaction_seconds / 2) ** 2)
    mean = max(mean, 1.0)
    sigma = math.sqrt(math.log1p(variance / mean ** 2))
    median = mean / math.sqrt(1 + variance / mean ** 2)
    low = median * math.exp(-Z_80 * sigma * inputs.low_factor)
    high = median * math.exp(Z_80 * sigma * inputs.high_factor)
    soon = ahead == 0 and any(counter.busy_since is None for counter in counters)
    if soon:
        median, low, high = min(median, inputs.reaction_seconds), 0.0, float(SOON_SECONDS)
    return WaitEstimate(seconds=round(median), low_seconds=math.floor(low),
                        high_seconds=math.ceil(high), soon=soon)


# --- The model: learnt under the queue lock, kept in QueueState.estimate_model -------------

def _prior_cycle(model: dict, business, key: str = "day_prior") -> float:
    """The business's long-run cycle as it stood when the day began (today's calls are
    the data, not the prior), or its configured average (+ the usual gap) until it has
    one, or after the merchant changed that average."""
    # A cycle runs call to call: the service the merchant configured plus the gap before
    # the next call. Without that gap the prior is short even when the average is right.
    configured = float(business.average_service_time) + PRIOR_REACTION
    if model.get("configured") != business.average_service_time or not model.get(key):
        return configured
    return float(model[key])


def inputs_from_model(model: dict | None, business) -> EstimateInputs:
    """The estimator's inputs from the stored model (no query)."""
    model = model or {}
    if model.get("version") != MODEL_VERSION or "cycle" not in model:
        cycle = _prior_cycle(model, business)
        return EstimateInputs(cycle_seconds=cycle, cycle_cv=PRIOR_CV, pace_uncertainty=0.25,
                              reaction_seconds=PRIOR_REACTION, leave_share=PRIOR_LEAVE_SHARE,
                              counters=_counters_from_model(model) or (CounterNow(),),
                              low_factor=model.get("low_factor", START_FACTOR),
                              high_factor=model.get("high_factor", START_FACTOR))
    return EstimateInputs(
        cycle_seconds=model["cycle"], cycle_cv=model["cv"],
        pace_uncertainty=model["uncertainty"], reaction_seconds=model["reaction"],
        leave_share=model["leave_share"],
        counters=_counters_from_model(model) or (CounterNow(),),
        low_factor=model.get("low_factor", START_FACTOR),
        high_factor=model.get("high_factor", START_FACTOR))


def _counters_from_model(model: dict) -> tuple[CounterNow, ...]:
    return tuple(CounterNow(busy_since=counter.get("busy_since"),
                            services=tuple(counter.get("services", ())))
                 for counter in model.get("counters", ()))


@dataclass
class _Call:
    counter: str | None
    created: float
    called: float
    finished: float | None


def cycles_of(calls: list[_Call]) -> tuple[list[tuple[float, float]], list[float],
                                           dict[str | None, float]]:
    """From past calls (oldest first): the cycles as (moment, seconds) (a call to the
    next call at the same counter, idle time without anyone waiting left out), the gaps
    between a free counter and its next call, and each counter's call in progress."""
    cycles, gaps, busy = [], [], {}
    last: dict[str | None, _Call] = {}
    for call in calls:
        before = last.get(call.counter)
        if before is not None:
            if before.finished is None or call.created <= before.finished:
                cycles.append((call.called, call.called - before.called))
                if before.finished is not None:
                    gaps.append(call.called - before.finished)
            else:  # the counter waited for this customer to come: that is no cycle time
                cycles.append((call.called, (before.finished - before.called)
                               + (call.called - call.created)))
                gaps.append(call.called - call.created)
        last[call.counter] = call
    for counter, call in last.items():
        if call.finished is None:
            busy[counter] = call.called
    return cycles, gaps, busy


def _weighted(values: list[float]) -> tuple[float, float, float]:
    """Recency-weighted mean, coefficient of variation and effective sample size of
    `values` (oldest first)."""
    weights = [0.5 ** ((len(values) - 1 - index) / HALF_LIFE_CALLS)
               for index in range(len(values))]
    total = sum(weights)
    mean = sum(w * v for w, v in zip(weights, values, strict=True)) / total
    variance = sum(w * (v - mean) ** 2 for w, v in zip(weights, values, strict=True)) / total
    effective = total * total / sum(w * w for w in weights)
    return mean, math.sqrt(variance) / mean if mean > 0 else PRIOR_CV, effective


def pace(prior: float, cycles: list[float]) -> tuple[float, float, float]:
    """Today's cycles against the prior, in log scale: the pace (seconds per call per
    counter), its spread, and its relative uncertainty. The data move the estimate
    only as far as they disagree with the prior beyond their own noise."""
    if not cycles:
        return prior, PRIOR_CV, 0.25
    clipped = [min(max(value, 1.0), 8 * prior) for value in cycles]
    mean, cv, effective = _weighted(clipped)
    # The spread with a weak prior (a handful of cycles say little about it).
    cv = math.sqrt((cv * cv * effective + PRIOR_CV ** 2 * 5) / (effective + 5))
    if mean <= 0:
        return prior, cv, 0.25
    gap = math.log(mean / prior)
    noise = cv * cv / effective
    spread = max(PRIOR_DOUBT ** 2, gap * gap - noise)
    weight = spread / (spread + noise)
    uncertainty = math.sqrt(spread * noise / (spread + noise))
    return prior * math.exp(weight * gap), cv, uncertainty


def _history_factor(business, now: datetime) -> float:
    """This weekday × hour against the business's other hours, over past weeks (service
    durations), shrunk to 1 when the hour has few customers."""
    from queues.models import QueueEntry

    zone = _zone(business)
    local = now.astimezone(zone)
    since = now - timedelta(weeks=HISTORY_WEEKS)
    duration = ExpressionWrapper(F("finished_at") - F("called_at"), output_field=DurationField())
    entries = (QueueEntry.objects.filter(business=business, called_at__gte=since,
                                         called_at__lt=now - timedelta(hours=12),
                                         finished_at__isnull=False)
               .annotate(weekday=ExtractIsoWeekDay("called_at", tzinfo=zone),
                         hour=ExtractHour("called_at", tzinfo=zone)))
    slot = Q(weekday=local.isoweekday(), hour=local.hour)
    figures = entries.aggregate(all_count=Count("pk"), all_mean=Avg(duration),
                                slot_count=Count("pk", filter=slot),
                                slot_mean=Avg(duration, filter=slot))
    if not figures["slot_count"] or not figures["all_mean"] or not figures["slot_mean"]:
        return 1.0
    ratio = figures["slot_mean"].total_seconds() / max(1.0, figures["all_mean"].total_seconds())
    ratio = min(max(ratio, 0.5), 2.0)
    count = figures["slot_count"]
    return (count * ratio + HISTORY_PRIOR_WEIGHT) / (count + HISTORY_PRIOR_WEIGHT)


def _zone(business):
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(business.timezone or "Europe/Paris")
    except Exception:
        return ZoneInfo("Europe/Paris")


def _epoch(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None


def _open_counters(business) -> list[tuple[str, tuple[str, ...]]]:
    """(id, service ids) of the open counters; one anonymous counter when all are
    closed (the first call opens one)."""
    rows = list(business.counters.filter(is_open=True).values_list("pk", "services"))
    if not rows:
        return [("", ())]
    services: dict[str, list[str]] = {}
    for pk, service in rows:
        services.setdefault(str(pk), [])
        if service is not None:
            services[str(pk)].append(str(service))
    return [(pk, tuple(ids)) for pk, ids in services.items()]


def model_refresh(state, business, now: datetime) -> None:
    """Recompute `state.estimate_model` from the recent calls (the caller holds the
    queue lock and saves the state). Two queries (the recent calls, the open counters),
    plus one per hour for the weekday × hour history."""
    from queues.models import EntryStatus, QueueEntry

    model = dict(state.estimate_model or {})
    hour_key = now.astimezone(_zone(business)).strftime("%Y-%m-%dT%H")
    if model.get("hour") != hour_key:
        model["hour"], model["history_factor"] = hour_key, _history_factor(business, now)
    if model.get("configured") != business.average_service_time:
        model.update(configured=business.average_service_time, long_run=None, seen=0,
                     day_prior=None)
    if model.get("day") != hour_key[:10]:
        model["day"], model["day_prior"] = hour_key[:10], model.get("long_run")
    fields = ["created_at", "called_at", "finished_at", "status", "counter_id"]
    rows = list(QueueEntry.objects.filter(business=business)
                .filter(Q(called_at__gte=now - LOOKBACK)
                        | Q(status=EntryStatus.CANCELLED, called_at__isnull=True,
                            finished_at__gte=now - LOOKBACK))
                .order_by("-created_at").values(*fields)[:RECENT_CALLS])
    calls = sorted((_Call(counter=str(row.get("counter_id") or ""), created=row["created_at"]
                          .timestamp(), called=row["called_at"].timestamp(),
                          finished=_epoch(row["finished_at"]))
                    for row in rows if row["called_at"] is not None),
                   key=lambda call: call.called)
    left = sum(1 for row in rows if row["called_at"] is None)
    cycles, gaps, busy = cycles_of(calls)
    prior = _prior_cycle(model, business) * model.get("history_factor", 1.0)
    cycle, cv, uncertainty = pace(prior, [seconds for _moment, seconds in cycles])
    _learn_long_run(model, business, cycles)
    reaction = ((sum(gaps) + PRIOR_REACTION * 5) / (len(gaps) + 5)) if gaps else PRIOR_REACTION
    counters = []
    for pk, services in _open_counters(business):
        since = busy.get(pk) if pk else (max(busy.values()) if busy else None)
        counters.append({"busy_since": since, "services": list(services)})
    model.update(
        version=MODEL_VERSION, cycle=cycle, cv=cv, uncertainty=uncertainty,
        reaction=max(1.0, reaction), counters=counters,
        leave_share=(left + PRIOR_LEAVE_SHARE * LEAVE_PRIOR_WEIGHT)
        / (len(calls) + left + LEAVE_PRIOR_WEIGHT),
    )
    state.estimate_model = model


def model_learn_call(state, *, low: int, high: int, actual: int) -> None:
    """A customer was just called after `actual` seconds, shown `low`–`high` at join.

    Each end of the range is a quantile tracker: the low end moves until about 10 % of
    real waits fall below it, the high end until the waits beyond it make up the rest
    of 20 % (more than 10 % when short waits leave nothing below a range starting at 0).
    """
    model = dict(state.estimate_model or {})
    above, below = actual > high, actual < low
    below_rate = model.get("below_rate", 0.1) + 0.05 * ((1.0 if below else 0.0)
                                                        - model.get("below_rate", 0.1))
    target = min(0.2, max(0.08, 0.2 - below_rate))
    model["below_rate"] = below_rate
    model["high_factor"] = _tracked(model.get("high_factor", START_FACTOR), above, target)
    if low > 0:  # a range starting at 0 cannot be undershot: nothing to learn
        model["low_factor"] = _tracked(model.get("low_factor", START_FACTOR), below, 0.1)
    state.estimate_model = model


def _tracked(factor: float, beyond: bool, target: float) -> float:
    step = TRACKER_STEP * ((1 - target) if beyond else -target)
    return min(5.0, max(0.3, factor * math.exp(step)))


def _learn_long_run(model: dict, business, cycles: list[tuple[float, float]]) -> None:
    """The cycles not seen yet feed the long-run pace carried to the next days."""
    fed = model.get("fed_until") or 0.0
    for moment, seconds in cycles:
        if moment <= fed:
            continue
        prior = _prior_cycle(model, business, "long_run")
        seen = model.get("seen") or 0
        weight = max(0.01, 1 / (seen + 10))
        model["long_run"] = prior + weight * (min(max(seconds, 1.0), 8 * prior) - prior)
        model["seen"] = seen + 1
        model["fed_until"] = moment
