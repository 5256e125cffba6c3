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
def queue(business):
    return open_queue(business)


@pytest.fixture
def other_queue(outsider):
    other = business_services.business_create(owner=outsider, name="Pharmacie du Port",
                                              business_type="pharmacy")
    return open_queue(other)


def stamp(business) -> str:
    return f"{business.pk}:{services.queue_version(business.pk)}"


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
    assert response.context["version"] == stamp(queue)


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
