"""Phone, zip code and opening hours are checked once, by the model's validators run in
the services' `full_clean`: the form, the API and the services refuse the same values
with the same words, and store the same normalised value."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from businesses import services
from businesses.models import Business
from businesses.tests.test_business_pages import business_form_data

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}
BAD_VALUES = [
    ("phone", "12 34", "Enter a valid phone number, for example 06 12 34 56 78."),
    ("zip_code", "7501", "A French zip code has five digits, e.g. 75011."),
    ("zip_code", "７５０１１", "A French zip code has five digits, e.g. 75011."),
]
BAD_HOURS = {"weekly": {"monday": [["12:00", "08:00"]]}}


@pytest.fixture(autouse=True)
def _in_english():
    with translation.override("en"):
        yield


@pytest.mark.parametrize(("field", "value", "message"), BAD_VALUES)
def test_the_service_refuses_a_bad_value_and_stores_nothing(merchant, field, value, message):
    with pytest.raises(ValidationError) as refused:
        services.business_create(owner=merchant, name="Chez Léa", business_type="bakery",
                                 **{field: value})

    assert refused.value.message_dict == {field: [message]}
    assert not Business.objects.filter(owner=merchant).exists()


@pytest.mark.parametrize(("field", "value", "message"), BAD_VALUES)
def test_an_update_is_refused_by_the_same_validator(business, field, value, message):
    with pytest.raises(ValidationError) as refused:
        services.business_update(business=business, **{field: value})

    assert refused.value.message_dict == {field: [message]}
    business.refresh_from_db()
    assert getattr(business, field) != value


@pytest.mark.parametrize(("field", "value", "message"), BAD_VALUES)
def test_the_form_and_the_api_say_the_same_words(merchant_client, api_client, merchant,
                                                 field, value, message):
    page = merchant_client.post(reverse("businesses:create"),
                                business_form_data(**{field: value}), **ENGLISH)
    answer = api_client.post("/api/v1/businesses", {"name": "Chez Léa",
                                                    "business_type": "bakery", field: value},
                             format="json", **ENGLISH)

    assert page.status_code == 200
    assert message in page.content.decode()
    assert answer.status_code == 400
    assert answer.json()["errors"] == {field: [message]}
    assert not Business.objects.filter(owner=merchant).exists()


def test_bad_opening_hours_are_refused_in_the_same_words_everywhere(merchant, api_client,
                                                                    business):
    with pytest.raises(ValidationError) as refused:
        services.business_update(business=business, opening_hours=BAD_HOURS)
    answer = api_client.put(f"/api/v1/businesses/{business.pk}",
                            {"opening_hours": BAD_HOURS}, format="json", **ENGLISH)

    assert answer.status_code == 400
    assert answer.json()["errors"]["opening_hours"] == refused.value.message_dict[
        "opening_hours"]
    business.refresh_from_db()
    assert business.opening_hours != BAD_HOURS


def test_a_phone_typed_any_way_is_stored_the_same_way(merchant_client, api_client, merchant):
    merchant_client.post(reverse("businesses:create"),
                         business_form_data(name="Par le site", phone="06 12 34 56 78"))
    api_client.post("/api/v1/businesses", {"name": "Par l'API", "business_type": "bakery",
                                           "phone": "+33 6 12 34 56 78"}, format="json")
    services.business_create(owner=merchant, name="Par le service", business_type="bakery",
                             phone="0612345678")

    assert sorted(Business.objects.filter(owner=merchant).values_list("name", "phone")) == [
        ("Par l'API", "+33612345678"), ("Par le service", "+33612345678"),
        ("Par le site", "+33612345678")]


def test_the_profile_phone_is_checked_by_the_same_validator(merchant):
    with pytest.raises(ValidationError) as refused:
        services.account_update_profile(user=merchant, first_name="Paul", last_name="",
                                        phone="12 34")

    assert refused.value.message_dict == {
        "phone": ["Enter a valid phone number, for example 06 12 34 56 78."]}
    merchant.refresh_from_db()
    assert merchant.first_name != "Paul"
