"""A poll's "nothing changed" (204) compares the version of the queue the link points at,
never a business named in the query string."""

import pytest
from django.urls import reverse

from businesses import services as business_services
from queues import services
from queues.models import QueueState
from queues.tests.factories import fill, join, open_queue

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def other_queue(outsider):
    other = business_services.business_create(owner=outsider, name="Pharmacie du Port",
                                              business_type="pharmacy")
    return open_queue(other)


def stamp(business) -> str:
    return f"{business.pk}:{services.queue_version(business.pk)}"


def waiting_stamp(business) -> str:
    return services.version_stamp(QueueState.objects.get(pk=business.pk), prime=False,
                                  waiting=True)


def test_a_made_up_status_link_is_a_404_whatever_version_it_names(
        client, queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        join(queue)
    url = reverse("queues:status", args=["made-up-secret-0123456789"])
    right = client.get(url, {"v": stamp(queue)}, **HTMX)
    wrong = client.get(url, {"v": f"{queue.pk}:999"}, **HTMX)
    assert (right.status_code, wrong.status_code) == (404, 404)


def test_a_status_poll_compares_its_own_queue_version_not_the_one_named(
        client, queue, other_queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        entry = join(queue)
        fill(other_queue, 3)
    assert services.queue_version(queue.pk) != services.queue_version(other_queue.pk)
    url = reverse("queues:status", args=[entry.secret])
    client.get(url)  # the page's first load
    response = client.get(url, {"v": stamp(other_queue)}, **HTMX)
    assert response.status_code == 200
    assert response.context["version"] == waiting_stamp(queue)


def test_the_shop_display_compares_its_own_queue_version_not_the_one_named(
        client, queue, other_queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        join(queue)
        fill(other_queue, 3)
    token = QueueState.objects.get(pk=queue.pk).display_token
    response = client.get(reverse("queues:display", args=[token]), {"v": stamp(other_queue)},
                          **HTMX)
    assert response.status_code == 200
    assert response.context["version"] == stamp(queue)


def test_the_live_queue_compares_its_own_queue_version_not_the_one_named(
        merchant_client, queue, other_queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        join(queue)
        fill(other_queue, 3)
    response = merchant_client.get(reverse("queues:live", args=[queue.pk]),
                                   {"v": stamp(other_queue)}, **HTMX)
    assert response.status_code == 200
    assert response.context["version"] == stamp(queue)


def test_an_unchanged_status_poll_still_answers_from_the_cache_alone(
        client, queue, django_assert_num_queries, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        entry = join(queue)
    url = reverse("queues:status", args=[entry.secret])
    version = client.get(url).context["version"]
    with django_assert_num_queries(0):
        response = client.get(url, {"v": version}, **HTMX)
    assert response.status_code == 204


# --- What a customer already waiting sees: polls answer "unchanged" unless it changed ---


@pytest.fixture
def polls(client, django_capture_on_commit_callbacks):
    """`poll(entry, version)` → (status code, the stamp to send next), changes committed."""
    def poll(entry, version):
        response = client.get(reverse("queues:status", args=[entry.secret]), {"v": version},
                              **HTMX)
        return response.status_code, (response.context or {}).get("version", version)
    return poll


def first_stamp(client, entry) -> str:
    return client.get(reverse("queues:status", args=[entry.secret]), **HTMX).context["version"]


def test_a_join_behind_a_waiting_customer_leaves_their_poll_unchanged(
        client, queue, polls, django_assert_num_queries, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = join(queue)
    version = first_stamp(client, first)
    with django_capture_on_commit_callbacks(execute=True):
        join(queue)
    with django_assert_num_queries(0):
        assert polls(first, version) == (204, version)


def test_a_priority_walk_in_ahead_of_a_waiting_customer_changes_their_card(
        client, queue, polls, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = join(queue)
    version = first_stamp(client, first)
    with django_capture_on_commit_callbacks(execute=True):
        services.entry_join(business=queue, phone="", walk_in=True, priority=True)
    code, _ = polls(first, version)
    page = client.get(reverse("queues:status", args=[first.secret]), **HTMX)
    assert code == 200
    assert page.context["status"].position == 2


def test_a_serve_changes_the_served_customers_page_not_the_line_behind(
        client, queue, polls, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        called, waiting = join(queue), join(queue)
        services.queue_call_next(business=queue)
    called_version, waiting_version = first_stamp(client, called), first_stamp(client, waiting)
    with django_capture_on_commit_callbacks(execute=True):
        services.entry_serve(entry=called)
    assert polls(called, called_version)[0] == 200
    assert polls(waiting, waiting_version) == (204, waiting_version)


def test_a_call_moves_everybody_waiting(client, queue, polls,
                                       django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        join(queue)
        second = join(queue)
    version = first_stamp(client, second)
    with django_capture_on_commit_callbacks(execute=True):
        services.queue_call_next(business=queue)
    code, new_version = polls(second, version)
    assert code == 200 and new_version != version
    assert polls(second, new_version) == (204, new_version)
