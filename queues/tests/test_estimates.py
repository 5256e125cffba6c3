"""The wait estimate on hand-made histories: the pure estimator, then the model the
engine keeps up to date as the queue moves."""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from queues import estimates, services
from queues.estimates import CounterNow, EstimateInputs, estimate_wait
from queues.models import QueueState, SmsType
from queues.sms.texts import compose_sms
from queues.tests.factories import join, open_queue

NOW = 1_800_000_000.0


def inputs(**changes) -> EstimateInputs:
    values = {"cycle_seconds": 120.0, "cycle_cv": 0.6, "pace_uncertainty": 0.05,
              "reaction_seconds": 10.0, "leave_share": 0.0,
              "counters": (CounterNow(busy_since=NOW - 30),)}
    return EstimateInputs(**(values | changes))


# --- The estimator, pure ----------------------------------------------------------------

def test_next_in_line_with_a_free_counter_is_told_less_than_two_minutes():
    estimate = estimate_wait(inputs(counters=(CounterNow(),)), ahead=0, now=NOW)
    assert estimate.soon
    assert (estimate.low, estimate.shown_high_seconds) == (0, 120)
    assert estimate.minutes == 0


def test_next_in_line_behind_a_busy_counter_waits_for_the_rest_of_the_service():
    estimate = estimate_wait(inputs(), ahead=0, now=NOW)
    assert not estimate.soon
    assert 60 <= estimate.seconds <= 120
    assert estimate.low_seconds < estimate.seconds < estimate.high_seconds


def test_the_wait_grows_with_the_people_ahead_and_shrinks_with_counters():
    one = estimate_wait(inputs(), ahead=6, now=NOW)
    two = estimate_wait(inputs(counters=(CounterNow(busy_since=NOW - 30),
                                         CounterNow(busy_since=NOW - 60))), ahead=6, now=NOW)
    assert 6 * 120 < one.seconds < 8 * 120
    assert two.seconds == pytest.approx(one.seconds / 2, rel=0.25)


def test_with_two_busy_counters_the_first_call_comes_before_either_average_remainder():
    both_busy = (CounterNow(busy_since=NOW - 30), CounterNow(busy_since=NOW - 30))
    next_one = estimate_wait(inputs(counters=both_busy), ahead=0, now=NOW)
    second_one = estimate_wait(inputs(counters=both_busy), ahead=1, now=NOW)
    remainder = estimates.residual_seconds(120.0, 0.6, 30)
    assert next_one.seconds < 0.9 * remainder < second_one.seconds


def test_a_long_service_in_progress_still_leaves_some_of_it_to_go():
    fresh = estimate_wait(inputs(counters=(CounterNow(busy_since=NOW - 5),)), ahead=0, now=NOW)
    long_one = estimate_wait(inputs(counters=(CounterNow(busy_since=NOW - 600),)), ahead=0,
                             now=NOW)
    # Five times the average has gone by: it is a long one, it does not end "now".
    assert long_one.seconds > 30
    assert long_one.seconds < fresh.seconds


def test_a_counter_serving_another_service_does_not_count():
    counters = (CounterNow(busy_since=NOW - 30, services=("a",)),
                CounterNow(busy_since=NOW - 30, services=("b",)))
    only_a = estimate_wait(inputs(counters=counters), ahead=4, now=NOW, service="a")
    both = estimate_wait(inputs(counters=counters[:1] + (CounterNow(busy_since=NOW - 30),)),
                         ahead=4, now=NOW, service="a")
    assert only_a.seconds > 1.5 * both.seconds


def test_customers_who_leave_ahead_shorten_the_wait():
    staying = estimate_wait(inputs(), ahead=10, now=NOW)
    leaving = estimate_wait(inputs(leave_share=0.2), ahead=10, now=NOW)
    assert leaving.seconds < staying.seconds


def test_the_range_is_narrow_when_sure_and_wide_when_not():
    sure = estimate_wait(inputs(cycle_cv=0.2, pace_uncertainty=0.02), ahead=5, now=NOW)
    unsure = estimate_wait(inputs(cycle_cv=1.0, pace_uncertainty=0.3), ahead=5, now=NOW)
    assert (sure.high_seconds - sure.low_seconds) * 2 < unsure.high_seconds - unsure.low_seconds


def test_the_minutes_told_are_rounded_down_unless_close_to_the_next_minute():
    def told(seconds: int) -> int:
        return estimates.WaitEstimate(seconds=seconds, low_seconds=0, high_seconds=600).minutes

    assert told(5 * 60 + 35) == 5  # 25 s short of 6: the customer comes back early
    assert told(5 * 60 + 40) == 6  # 20 s short: not told a whole minute under the median


def test_with_no_history_a_cycle_is_the_configured_average_plus_the_gap_before_a_call():
    business = SimpleNamespace(average_service_time=100)
    fresh = estimates.inputs_from_model(None, business)
    assert fresh.cycle_seconds == 100 + estimates.PRIOR_REACTION


def test_the_pace_follows_the_day_only_as_far_as_it_disagrees_with_the_prior():
    agreeing = [100.0, 140.0, 90.0, 130.0, 110.0, 95.0, 135.0, 100.0] * 3
    pace, _cv, _uncertainty = estimates.pace(115.0, agreeing)
    assert pace == pytest.approx(115.0, rel=0.03)
    slower = [value * 1.5 for value in agreeing] * 2
    pace, _cv, _uncertainty = estimates.pace(115.0, slower)
    assert pace > 1.35 * 115


# --- The model kept by the engine ----------------------------------------------------------

@pytest.fixture
def queue(business):
    business.average_service_time = 120
    business.save(update_fields=["average_service_time"])
    return open_queue(business)


def _model(queue) -> dict:
    return QueueState.objects.get(pk=queue.pk).estimate_model


def test_a_business_with_no_history_estimates_from_its_configured_average(queue):
    entries = [join(queue) for _ in range(6)]
    last = entries[-1]
    # 5 ahead, nobody called yet: the configured 2 minutes each.
    assert 8 * 60 <= last.estimated_wait_seconds <= 11 * 60
    assert last.estimated_wait_low_seconds < last.estimated_wait_seconds
    assert last.estimated_wait_high_seconds > last.estimated_wait_seconds + 60


def test_the_first_customer_to_a_free_counter_is_told_less_than_two_minutes(queue):
    entry = join(queue)
    assert entry.estimated_wait_seconds == 0
    assert (entry.estimated_wait_low_seconds, entry.estimated_wait_high_seconds) == (0, 120)


def _serve_in_turn(queue, clock, count: int, seconds: int) -> None:
    for _ in range(count):
        entry = services.queue_call_next(business=queue)
        clock.shift(timedelta(seconds=seconds))
        services.entry_serve(entry=entry)


def test_the_estimate_learns_the_pace_of_the_line(queue):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(31):
            join(queue)
        _serve_in_turn(queue, clock, 30, seconds=240)  # twice the configured average
        newcomer_ahead = 1 + 4  # the one left and four more
        for _ in range(4):
            join(queue)
        newcomer = join(queue)
    assert _model(queue)["cycle"] > 200
    assert newcomer.estimated_wait_seconds > newcomer_ahead * 200


def test_a_burst_of_no_shows_speeds_the_line_up(queue):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(40):
            join(queue)
        _serve_in_turn(queue, clock, 10, seconds=120)
        before = services.wait_estimate(queue, QueueState.objects.get(pk=queue.pk), 10)
        for _ in range(20):  # nobody comes: each given up after 20 s
            called = services.queue_call_next(business=queue)
            clock.shift(timedelta(seconds=20))
            services.entry_miss(entry=called)
        after = services.wait_estimate(queue, QueueState.objects.get(pk=queue.pk), 10)
    assert after.seconds < 0.8 * before.seconds


def test_a_long_service_in_progress_pushes_the_next_call_back(queue):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(12):
            join(queue)
        _serve_in_turn(queue, clock, 8, seconds=120)
        services.queue_call_next(business=queue)
        state = QueueState.objects.get(pk=queue.pk)
        just_started = services.wait_estimate(queue, state, 1)
        clock.shift(timedelta(seconds=100))
        nearly_done = services.wait_estimate(queue, state, 1)
        clock.shift(timedelta(seconds=500))
        overrunning = services.wait_estimate(queue, state, 1)
    assert nearly_done.seconds < just_started.seconds
    assert overrunning.seconds > 20  # not "any second now": it is a long one


def test_the_range_widens_when_real_waits_keep_falling_outside_it(queue):
    state = QueueState.objects.get(pk=queue.pk)
    for _ in range(10):
        estimates.model_learn_call(state, low=60, high=120, actual=600)
    assert state.estimate_model["high_factor"] > 1.5
    for _ in range(200):
        estimates.model_learn_call(state, low=60, high=1200, actual=300)
    assert state.estimate_model["high_factor"] < 1.0


def test_the_pace_learnt_today_is_tomorrows_prior(queue):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(41):
            join(queue)
        _serve_in_turn(queue, clock, 40, seconds=200)
        clock.shift(timedelta(days=1))
        services.queue_call_next(business=queue)
    model = _model(queue)
    assert 150 < model["day_prior"] <= 200


# --- Where customers see it ------------------------------------------------------------------

def test_the_status_page_shows_a_range_that_counts_down(client, queue):
    join(queue)
    entry = join(queue)
    html = client.get(reverse("queues:status", args=[entry.secret])).content.decode()
    text = re.sub(r"<[^>]+>", "", html)
    assert re.search(r"Attente estimée : environ \d+ min \(entre \d+ et \d+ min\)", text)
    assert html.count("data-countdown-seconds") == 3
    assert "js/wait_countdown.js" in html


def test_the_next_customer_with_a_free_counter_reads_less_than_two_minutes(client, queue):
    entry = join(queue)
    html = client.get(reverse("queues:status", args=[entry.secret])).content.decode()
    assert "moins de 2 minutes" in html


def test_the_reminder_sms_tells_the_same_estimate(queue):
    entries = [join(queue) for _ in range(4)]
    third = entries[3]
    state = QueueState.objects.get(pk=queue.pk)
    told = services.wait_estimate(queue, state, 3).minutes
    text = compose_sms(SmsType.REMINDER, entry=third, business=queue)
    assert f"votre tour dans ~{max(1, told)} min" in text
