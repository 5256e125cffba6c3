"""A business just created, never opened, with no entry: its queue pages work."""

import importlib

from django.apps import apps
from django.urls import reverse

from queues.models import QueueState

migration = importlib.import_module("queues.migrations.0007_h7_queue_state_for_every_business")


def test_a_new_business_has_its_queue_state_and_shop_display_link(merchant_client, client,
                                                                   business):
    state = QueueState.objects.get(pk=business.pk)
    html = merchant_client.get(reverse("queues:live", args=[business.pk])).content.decode()
    assert reverse("queues:display", args=[state.display_token]) in html
    assert 'id="call-next"' in html
    display = client.get(reverse("queues:display", args=[state.display_token]))
    assert display.status_code == 200


def test_the_live_page_answers_even_without_a_queue_state(merchant_client, business):
    QueueState.objects.filter(pk=business.pk).delete()
    response = merchant_client.get(reverse("queues:live", args=[business.pk]))
    assert response.status_code == 200
    assert "/display/" not in response.content.decode()


def test_the_migration_gives_existing_businesses_a_queue_state(business, outsider_business):
    QueueState.objects.filter(pk=business.pk).delete()
    kept = QueueState.objects.get(pk=outsider_business.pk).display_token
    migration.create_missing_states(apps, None)
    assert QueueState.objects.get(pk=business.pk).display_token
    assert QueueState.objects.get(pk=outsider_business.pk).display_token == kept
