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
