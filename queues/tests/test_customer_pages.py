"""The customer's pages: join, status (polled), cancel, snooze, rejoin."""

from html import unescape

import pytest
from django.core.cache import cache
from django.urls import reverse

from queues import services
from queues.models import EntryStatus, QueueEntry
from queues.tests.factories import fill, join


def join_url(business):
    return reverse("queues:join", args=[business.qr_token])


def test_the_join_page_shows_the_queue_length_and_the_form(client, queue):
    fill(queue, 3)
    response = client.get(join_url(queue))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Boulangerie Martin" in html
    assert 'name="phone"' in html
    assert "<dd>3</dd>" in html


def test_a_customer_joins_with_a_french_number_as_typed(client, queue):
    response = client.post(join_url(queue), {"phone": "06 12 34 56 78", "name": "Léa"})
    entry = QueueEntry.objects.get()
    assert entry.phone == "+33612345678" and entry.customer_name == "Léa"
    assert response.status_code == 302
    assert response["Location"] == reverse("queues:status", args=[entry.secret])


def test_an_invalid_phone_is_refused_on_the_page_and_nothing_is_created(client, queue):
    response = client.post(join_url(queue), {"phone": "12", "name": ""})
    assert response.status_code == 400
    assert "06 12 34 56 78" in response.content.decode()
    assert not QueueEntry.objects.exists()




@pytest.mark.parametrize(("change", "reason", "text"), [
    ({"is_queue_open": False}, "queue_closed", "La file est fermée pour le moment."),
    ({"is_queue_paused": True}, "queue_paused", "La file est en pause"),
    ({"max_queue_size": 1}, "queue_full", "La file est complète"),
    ({"is_active": False}, "business_suspended", "ne prend pas de clients"),
])
def test_a_queue_that_cannot_take_customers_says_why_and_shows_no_form(client, queue, change,
                                                                         reason, text):
    join(queue)
    type(queue).objects.filter(pk=queue.pk).update(**change)
    response = client.get(join_url(queue))
    html = response.content.decode()
    assert f'data-reason="{reason}"' in html
    assert text in html
    assert "join-form" not in html


def test_the_status_page_shows_ticket_position_and_estimate(client, queue):
    first, second = fill(queue, 2)
    html = client.get(reverse("queues:status", args=[second.secret])).content.decode()
    assert "A-002" in html
    assert 'data-position="2"' in html
    assert "1 personne devant vous" in html
    assert 'hx-trigger="every 4s, repoll"' in html  # second in line: every 4 s


def test_the_status_page_says_when_it_is_your_turn(client, queue):
    entry = join(queue)
    services.queue_call_next(business=queue)
    html = unescape(client.get(reverse("queues:status", args=[entry.secret])).content.decode())
    assert "C'est votre tour" in html
    assert "data-deadline" in html


def test_an_unchanged_queue_answers_the_poll_without_the_database(
        client, queue, django_assert_num_queries, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        entry = join(queue)
    page = client.get(reverse("queues:status", args=[entry.secret]), HTTP_HX_REQUEST="true")
    version = page.context["version"]
    with django_assert_num_queries(0):
        response = client.get(reverse("queues:status", args=[entry.secret]),
                              {"v": version}, HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    with django_capture_on_commit_callbacks(execute=True):
        services.queue_call_next(business=queue)
    changed = client.get(reverse("queues:status", args=[entry.secret]), {"v": version},
                         HTTP_HX_REQUEST="true")
    assert changed.status_code == 200 and "status-called" in changed.content.decode()


def test_a_lost_version_stamp_costs_one_poll_from_the_database(
        client, queue, django_assert_num_queries, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        entry = join(queue)
    url = reverse("queues:status", args=[entry.secret])
    version = client.get(url, HTTP_HX_REQUEST="true").context["version"]
    cache.clear()  # Redis restarted

    with django_assert_num_queries(1):
        again = client.get(url, {"v": version}, HTTP_HX_REQUEST="true")
    assert again.status_code == 200  # nothing to compare with: read, and the cache primed
    with django_assert_num_queries(0):
        same = client.get(url, {"v": version}, HTTP_HX_REQUEST="true")
    assert same.status_code == 204


@pytest.mark.parametrize("waiting", [3, 40])
def test_the_status_poll_runs_one_query_whatever_the_queue_length(
        client, queue, waiting, django_assert_num_queries):
    entries = fill(queue, waiting)
    with django_assert_num_queries(1):
        page = client.get(reverse("queues:status", args=[entries[-1].secret]),
                          HTTP_HX_REQUEST="true")
    assert page.context["status"].position == waiting


def test_the_customer_cancels_their_place(client, queue):
    entry = join(queue)
    client.post(reverse("queues:cancel", args=[entry.secret]))
    entry.refresh_from_db()
    assert entry.status == EntryStatus.CANCELLED


def test_the_customer_lets_one_person_pass(client, queue):
    first, second = fill(queue, 2)
    client.post(reverse("queues:snooze", args=[first.secret]))
    first.refresh_from_db()
    assert services.entry_position(first) == 2


def test_a_missed_customer_rejoins_from_the_status_page(client, queue):
    missed, *_ = fill(queue, 3)
    services.queue_call_next(business=queue)
    services.entry_miss(entry=missed)
    response = client.post(reverse("queues:rejoin", args=[missed.secret]))
    again = QueueEntry.objects.get(rejoined_from=missed)
    assert response["Location"] == reverse("queues:status", args=[again.secret])
    assert services.entry_position(again) == 2



def test_the_snooze_button_goes_once_the_engine_refuses_another_snooze(client, queue):
    first, *_ = fill(queue, 3)
    status_url = reverse("queues:status", args=[first.secret])
    snooze_url = reverse("queues:snooze", args=[first.secret])
    for _snooze in range(services.MAX_SNOOZES):
        assert snooze_url in client.get(status_url).content.decode()
        services.entry_snooze(entry=first)
    assert snooze_url not in client.get(status_url).content.decode()
    with pytest.raises(services.QueueError):
        services.entry_snooze(entry=first)


def test_the_missed_page_states_the_engine_s_rejoin_window(client, queue):
    missed, *_ = fill(queue, 2)
    services.queue_call_next(business=queue)
    services.entry_miss(entry=missed)
    html = client.get(reverse("queues:status", args=[missed.secret])).content.decode()
    minutes = int(services.REJOIN_WINDOW.total_seconds() // 60)
    assert f"Possible pendant {minutes} minutes après votre tour." in html

def test_an_unknown_ticket_is_a_friendly_404(client, db):
    response = client.get(reverse("queues:status", args=["nope"]))
    assert response.status_code == 404
    assert "Ticket introuvable" in response.content.decode()


@pytest.mark.parametrize("url", ["/q/s/a%00b", "/q/s/a%00b/cancel", "/display/a%00b",
                                 "/api/v1/public/entries/a%00b", "/q/" + "x" * 300])
def test_malformed_links_are_a_404_not_a_500(client, db, url):
    response = client.post(url) if url.endswith("cancel") else client.get(url)
    assert response.status_code == 404


def test_a_malformed_qr_token_in_the_public_api_is_a_404(client, db):
    response = client.post("/api/v1/public/a%00b/join", {"phone": "0612345678"},
                           content_type="application/json")
    assert response.status_code == 404
