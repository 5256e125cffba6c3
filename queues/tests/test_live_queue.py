"""The merchant's live queue screen and its buttons."""

import pytest
from django.urls import reverse

from queues import services
from queues.models import EntryStatus, QueueEntry
from queues.tests.factories import fill, join, open_queue


def live_url(business):
    return reverse("queues:live", args=[business.pk])


def action_url(business, action):
    return reverse("queues:queue_action", args=[business.pk, action])


def entry_url(entry, action):
    return reverse("queues:entry_action", args=[entry.business_id, entry.pk, action])


def test_the_live_queue_lists_waiting_customers_with_masked_phones(merchant_client, queue):
    join(queue, "06 12 34 56 78", name="Léa")
    html = merchant_client.get(live_url(queue)).content.decode()
    assert "A-001" in html and "Léa" in html
    assert "06 •• •• •• 78" in html
    assert "12 34 56" not in html
    assert 'id="call-next"' in html


@pytest.mark.parametrize("waiting", [5, 45])
def test_the_live_fragment_runs_a_fixed_number_of_queries(merchant_client, queue, waiting,
                                                          django_assert_num_queries):
    fill(queue, waiting)
    services.queue_call_next(business=queue)
    # session, user, business (the permission check), the business with its owner and plan,
    # state, live entries, today's figures, counters, what each counter serves, services
    with django_assert_num_queries(10):
        response = merchant_client.get(live_url(queue), HTTP_HX_REQUEST="true")
    assert response.status_code == 200


def test_an_unchanged_live_poll_only_checks_who_asks(merchant_client, queue,
                                                    django_assert_num_queries,
                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        fill(queue, 5)
    version = merchant_client.get(live_url(queue), HTTP_HX_REQUEST="true").context["version"]
    # session, user, the business (whose owner the user is)
    with django_assert_num_queries(3):
        poll = merchant_client.get(live_url(queue), {"v": version}, HTTP_HX_REQUEST="true")
    assert poll.status_code == 204


def test_call_next_with_htmx_returns_the_panel_with_the_called_customer(merchant_client, queue):
    first, second = fill(queue, 2)
    response = merchant_client.post(action_url(queue, "next"), HTTP_HX_REQUEST="true")
    first.refresh_from_db()
    assert first.status == EntryStatus.CALLED
    html = response.content.decode()
    assert 'id="live-panel"' in html and "called-entry" in html and "<html" not in html


def test_call_next_without_javascript_redirects_back(merchant_client, queue):
    fill(queue, 1)
    response = merchant_client.post(action_url(queue, "next"))
    assert response.status_code == 302 and response["Location"] == live_url(queue)


def test_an_empty_queue_shows_a_message_not_an_error(merchant_client, queue):
    response = merchant_client.post(action_url(queue, "next"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "alert-error" in response.content.decode()


@pytest.mark.parametrize(("action", "status"), [("serve", EntryStatus.SERVED),
                                                ("miss", EntryStatus.MISSED)])
def test_the_called_customer_is_served_or_missed(merchant_client, queue, action, status):
    entry = join(queue)
    services.queue_call_next(business=queue)
    merchant_client.post(entry_url(entry, action), HTTP_HX_REQUEST="true")
    entry.refresh_from_db()
    assert entry.status == status


def test_arrived_stops_the_countdown(merchant_client, queue):
    entry = join(queue)
    services.queue_call_next(business=queue)
    merchant_client.post(entry_url(entry, "arrive"))
    entry.refresh_from_db()
    assert entry.arrived_at is not None


def test_the_merchant_removes_a_waiting_customer(merchant_client, queue):
    entry = join(queue)
    merchant_client.post(entry_url(entry, "cancel"))
    entry.refresh_from_db()
    assert entry.status == EntryStatus.CANCELLED


@pytest.mark.parametrize(("action", "open_", "paused"), [
    ("close", False, False), ("pause", True, True), ("resume", True, False), ("open", True, False),
])
def test_open_close_pause_resume(merchant_client, queue, action, open_, paused):
    merchant_client.post(action_url(queue, action))
    queue.refresh_from_db()
    assert (queue.is_queue_open, queue.is_queue_paused) == (open_, paused)


def test_a_walk_in_customer_gets_a_ticket(merchant_client, queue):
    merchant_client.post(reverse("queues:walk_in", args=[queue.pk]), {"name": "Paul"})
    entry = QueueEntry.objects.get()
    assert entry.phone == "" and entry.customer_name == "Paul"


def test_an_unknown_action_is_a_404(merchant_client, queue):
    assert merchant_client.post(action_url(queue, "explode")).status_code == 404


class TestOwnership:
    """Another merchant's ids are never found, and nothing changes."""

    def test_it_hides_the_live_queue(self, outsider_client, queue):
        assert outsider_client.get(live_url(queue)).status_code == 404

    @pytest.mark.parametrize("action", ["next", "open", "close", "pause", "resume"])
    def test_it_refuses_queue_actions(self, outsider_client, queue, action):
        entry = join(queue)
        assert outsider_client.post(action_url(queue, action)).status_code == 404
        entry.refresh_from_db()
        queue.refresh_from_db()
        assert entry.status == EntryStatus.WAITING and queue.is_queue_open

    @pytest.mark.parametrize("action", ["arrive", "serve", "miss", "cancel"])
    def test_it_refuses_entry_actions(self, outsider_client, queue, action):
        entry = join(queue)
        services.queue_call_next(business=queue)
        assert outsider_client.post(entry_url(entry, action)).status_code == 404
        entry.refresh_from_db()
        assert entry.status == EntryStatus.CALLED and entry.arrived_at is None

    def test_it_refuses_to_undo_another_merchants_removal(self, outsider_client, queue):
        entry = services.entry_remove(entry=join(queue))
        assert outsider_client.post(entry_url(entry, "undo")).status_code == 404
        entry.refresh_from_db()
        assert entry.status == EntryStatus.CANCELLED

    def test_it_hides_another_merchants_printed_ticket(self, outsider_client, queue):
        entry = join(queue, name="Léa")
        response = outsider_client.get(reverse("queues:ticket", args=[queue.pk, entry.pk]))
        assert response.status_code == 404 and "Léa" not in response.content.decode()

    def test_it_refuses_walk_ins_and_display_links(self, outsider_client, queue):
        assert outsider_client.post(reverse("queues:walk_in", args=[queue.pk])).status_code == 404
        assert outsider_client.post(
            reverse("queues:display_regenerate", args=[queue.pk])).status_code == 404
        assert not QueueEntry.objects.exists()

    def test_it_hides_another_merchants_entry_behind_my_business(self, merchant_client, queue,
                                                                 outsider_business):
        theirs = join(open_queue(outsider_business))
        url = reverse("queues:entry_action", args=[queue.pk, theirs.pk, "cancel"])
        assert merchant_client.post(url).status_code == 404
        theirs.refresh_from_db()
        assert theirs.status == EntryStatus.WAITING


@pytest.mark.parametrize("name", ["live", "walk_in", "display_regenerate"])
def test_anonymous_visitors_are_sent_to_login(client, queue, name):
    url = reverse(f"queues:{name}", args=[queue.pk])
    response = client.post(url) if name != "live" else client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_shop_display_opens_from_its_own_link_without_a_session(client, queue):
    entry = join(queue)
    services.queue_call_next(business=queue)
    token = queue.queue_state_row.display_token
    html = client.get(reverse("queues:display", args=[token])).content.decode()
    assert entry.ticket_label in html and "<svg" in html


def test_regenerating_the_display_link_revokes_the_old_one(merchant_client, client, queue):
    old = services.display_regenerate_token(business=queue).display_token
    merchant_client.post(reverse("queues:display_regenerate", args=[queue.pk]))
    assert client.get(reverse("queues:display", args=[old])).status_code == 404


def test_an_unchanged_display_poll_costs_no_query(client, queue, django_assert_num_queries,
                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        join(queue)
    url = reverse("queues:display", args=[queue.queue_state_row.display_token])
    version = client.get(url).context["version"]
    with django_assert_num_queries(0):
        poll = client.get(url, {"v": version}, HTTP_HX_REQUEST="true")
    assert poll.status_code == 204


def test_a_replaced_display_link_stops_answering_its_polls_too(
        merchant_client, client, queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        join(queue)
    old_url = reverse("queues:display", args=[queue.queue_state_row.display_token])
    version = client.get(old_url).context["version"]  # the screen has polled: remembered
    with django_capture_on_commit_callbacks(execute=True):
        merchant_client.post(reverse("queues:display_regenerate", args=[queue.pk]))
    poll = client.get(old_url, {"v": version}, HTTP_HX_REQUEST="true")
    assert poll.status_code == 404
