"""What the customer is told: no wait on an empty queue, what "let one person pass" did,
and the new ticket number after a rejoin."""

from __future__ import annotations

import re

from django.urls import reverse

from queues import services
from queues.models import QueueEntry
from queues.tests.factories import fill, join

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


def status_url(entry) -> str:
    return reverse("queues:status", args=[entry.secret])


def test_with_nobody_waiting_the_join_page_says_there_is_no_wait(client, queue):
    html = client.get(reverse("queues:join", args=[queue.qr_token])).content.decode()
    assert "<dd data-estimate>Pas d'attente</dd>" in html
    assert " min" not in html


def test_with_people_waiting_the_join_page_still_shows_the_estimate(client, queue):
    fill(queue, 2)
    html = client.get(reverse("queues:join", args=[queue.qr_token])).content.decode()
    assert "Pas d'attente" not in html
    text = re.sub(r"<[^>]+>", "", html)
    assert re.search(r"environ \d+ min \(entre \d+ et \d+ min\)", text)


def test_letting_one_person_pass_says_what_happened(client, queue):
    first, *_ = fill(queue, 3)
    page = client.post(reverse("queues:snooze", args=[first.secret]), follow=True, **ENGLISH)
    html = page.content.decode()
    assert "Done: you let one person pass. 1 person is ahead of you now." in html
    assert html.count("you let one person pass") == 1
    assert services.entry_position(QueueEntry.objects.get(pk=first.pk)) == 2


def test_with_nobody_behind_one_clear_message_and_the_place_is_kept(client, queue):
    only = join(queue)
    page = client.post(reverse("queues:snooze", args=[only.secret]), follow=True, **ENGLISH)
    html = page.content.decode()
    assert html.count("Nobody is behind you: you keep your place.") == 1
    assert '<div class="alert alert-info">Nobody is behind you' in html
    only.refresh_from_db()
    assert only.snooze_count == 0


def test_a_rejoin_says_clearly_that_the_ticket_number_changed(client, queue):
    missed, *_ = fill(queue, 3)
    services.queue_call_next(business=queue)
    services.entry_miss(entry=missed)
    page = client.post(reverse("queues:rejoin", args=[missed.secret]), follow=True, **ENGLISH)
    again = QueueEntry.objects.get(rejoined_from=missed)
    html = page.content.decode()
    assert html.count(f"Your ticket number has changed: {again.ticket_label} (instead of "
                      f"{missed.ticket_label}).") == 1
    assert f'data-ticket="{again.ticket_label}"' in html


def test_the_old_ticket_page_points_to_the_new_one_after_a_rejoin(client, queue):
    missed, *_ = fill(queue, 3)
    services.queue_call_next(business=queue)
    services.entry_miss(entry=missed)
    again = services.entry_rejoin(entry=missed)
    html = client.get(status_url(missed), **ENGLISH).content.decode()
    assert f"You are back in line with a new ticket: {again.ticket_label}." in html
    assert status_url(again) in html
    assert reverse("queues:rejoin", args=[missed.secret]) not in html
