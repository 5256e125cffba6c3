"""The rush-hour generator (bench/rush_load.py) reads the pages as the product renders them:
each polled element's URL with its version stamp, and the interval the page announces."""

from django.urls import reverse

from bench.rush_load import DISPLAY_TAG, LIVE_TAG, STATUS_TAG, Load, polling
from queues import services
from queues.models import QueueState
from queues.tests.factories import fill, open_queue

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_the_generator_follows_each_polled_page_with_its_version_and_interval(
        client, merchant_client, business):
    queue = open_queue(business)
    first, *_rest, last = fill(queue, 15)
    stamp = services.version_stamp(QueueState.objects.get(pk=queue.pk), prime=False,
                                   waiting=True)

    head = polling(client.get(reverse("queues:status", args=[first.secret]), **HTMX).content,
                   STATUS_TAG)
    fifteenth = polling(client.get(reverse("queues:status", args=[last.secret])).content,
                        STATUS_TAG)
    assert head == (f"/q/s/{first.secret}?v={stamp}", 4.0)
    assert fifteenth == (f"/q/s/{last.secret}?v={stamp}", 20.0)

    services.queue_call_next(business=queue)
    live = merchant_client.get(reverse("queues:live", args=[queue.pk]), **HTMX).content
    url, interval = polling(live, LIVE_TAG)
    assert url.startswith(f"/businesses/{queue.pk}/queue/?v={queue.pk}:") and interval == 5.0
    first.refresh_from_db()
    assert Load.serve_path(live) == reverse("queues:entry_action",
                                            args=[queue.pk, first.pk, "serve"])

    token = QueueState.objects.get(pk=queue.pk).display_token
    display = client.get(reverse("queues:display", args=[token]), **HTMX).content
    url, interval = polling(display, DISPLAY_TAG)
    assert url.startswith(f"/display/{token}?v={queue.pk}:") and interval == 4.0


def test_a_page_that_stops_polling_stops_the_generator_too(client, business):
    queue = open_queue(business)
    entry = fill(queue, 1)[0]
    services.entry_cancel(entry=entry)
    page = client.get(reverse("queues:status", args=[entry.secret]), **HTMX).content
    assert polling(page, STATUS_TAG) is None


def test_the_cost_table_weighs_each_request_by_how_often_a_shop_sends_it():
    from bench.request_costs import render

    result = {"measure": 60, "machine": {"nproc": 2},
              "trees": [{"label": "new", "trivial": [2000.0]}],
              "all_steps": [
                  {"tree": "new", "shops": 10, "passed": True, "mix": {
                      "status_poll": {"statuses": {"204": 600, "200": 60}},
                      "call_next": {"statuses": {"200": 10}}}},
                  {"tree": "new", "shops": 20, "passed": False, "mix": {}}]}
    costs = {"trivial": 0.5, "status_poll 204": 0.5, "status_poll 200": 5.0, "call_next": 30.0}

    text = "\n".join(render(costs, result))

    # Per shop: a 204 a second, a 200 every 10 s, a call a minute: 0.5 ms a second each.
    assert "| status_poll 204 | 1.000 | 0.50 | 0.500 | 33% |" in text
    assert "| call_next | 0.017 | 30.00 | 0.500 | 33% |" in text
    # Outside Django each request pays 2 cores / 2,000 req/s - 0.5 ms = 0.5 ms: the 10
    # shops cost 2.06 ms a second each, 1.06 without the 204s: what carries 10 carries 19.
    assert "10 shops would carry 19: about **10 shops per 1,000" in text


def test_a_run_that_held_no_step_has_no_cost_table():
    from bench.request_costs import render

    result = {"all_steps": [{"tree": "new", "shops": 10, "passed": False, "mix": {}}]}
    assert render({"trivial": 0.5}, result) == []
