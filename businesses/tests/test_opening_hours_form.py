"""The opening-hours form: ranges, closed days and dated exceptions typed into plain
time and date inputs, checked by the model's validator, with translated errors; the
admin uses the same widget."""

from __future__ import annotations

import pytest
from django.urls import reverse

from businesses import services
from businesses.forms import BusinessForm
from businesses.models import Business, User
from businesses.tests.test_admin import as_submitted
from businesses.tests.test_business_pages import (
    ENGLISH,
    FRENCH,
    business_form_data,
    edit_form_data,
    hours_data,
    snapshot,
)

SHOP_WEEK = {
    "weekly": {"monday": [], "tuesday": [["08:00", "12:30"], ["14:00", "19:30"]],
               "sunday": [["09:00", "12:00"]]},
    "exceptions": {"2026-12-01": [["09:00", "12:00"]], "2026-12-25": []},
}


def test_a_week_with_two_ranges_a_closed_day_and_exceptions_is_saved(merchant_client, merchant):
    data = business_form_data(**hours_data(SHOP_WEEK), last_call_minutes="10",
                              timezone="America/Martinique")
    response = merchant_client.post(reverse("businesses:create"), data, **ENGLISH)

    assert response.status_code == 302
    business = Business.objects.get(owner=merchant)
    assert business.opening_hours == SHOP_WEEK
    assert (business.last_call_minutes, business.timezone) == (10, "America/Martinique")


def test_ranges_typed_out_of_order_are_stored_in_order(merchant_client, business):
    data = edit_form_data(business, **{
        "opening_hours-friday-0-start": "14:00", "opening_hours-friday-0-end": "19:00",
        "opening_hours-friday-2-start": "08:00", "opening_hours-friday-2-end": "12:00"})
    merchant_client.post(reverse("businesses:detail", args=[business.pk]), data)

    business.refresh_from_db()
    assert business.opening_hours["weekly"] == {"friday": [["08:00", "12:00"], ["14:00", "19:00"]]}


def test_a_range_ending_at_00_00_runs_to_midnight(merchant_client, business):
    data = edit_form_data(business, **{
        "opening_hours-saturday-0-start": "18:00", "opening_hours-saturday-0-end": "00:00"})
    merchant_client.post(reverse("businesses:detail", args=[business.pk]), data)

    business.refresh_from_db()
    assert business.opening_hours["weekly"] == {"saturday": [["18:00", "24:00"]]}
    page = merchant_client.get(reverse("businesses:detail", args=[business.pk]))
    assert 'name="opening_hours-saturday-0-end" value="00:00"' in page.content.decode()


def test_an_exception_row_whose_date_is_emptied_is_removed(merchant_client, business):
    services.business_update(business=business, opening_hours=SHOP_WEEK)
    data = edit_form_data(business, **{"opening_hours-x1-date": ""})
    merchant_client.post(reverse("businesses:detail", args=[business.pk]), data)

    business.refresh_from_db()
    assert business.opening_hours["exceptions"] == {"2026-12-01": [["09:00", "12:00"]]}


@pytest.mark.parametrize(("typed", "english", "french"), [
    ({"opening_hours-tuesday-0-start": "18:00", "opening_hours-tuesday-0-end": "09:00"},
     "Tuesday: the range 18:00–09:00 ends before it starts.",
     "Mardi : la plage 18:00–09:00 se termine avant de commencer."),
    ({"opening_hours-tuesday-0-start": "08:00", "opening_hours-tuesday-0-end": "12:30",
      "opening_hours-tuesday-1-start": "12:00", "opening_hours-tuesday-1-end": "19:00"},
     "Tuesday: the range 12:00–19:00 overlaps another one.",
     "Mardi : la plage 12:00–19:00 chevauche une autre plage."),
    ({"opening_hours-wednesday-0-start": "09:00"},
     "Wednesday: give both the opening and the closing time of each range.",
     "Mercredi : indiquez l'heure d'ouverture et l'heure de fermeture de chaque plage."),
    ({"opening_hours-thursday-0-start": "25:99", "opening_hours-thursday-0-end": "18:00"},
     "Thursday: write times as HH:MM, for example 08:30.",
     "Jeudi : écrivez les heures au format HH:MM, par exemple 08:30."),
    ({"opening_hours-x0-date": "2026-02-30", "opening_hours-x0-closed": "on"},
     "Exceptions: “2026-02-30” is not a date.",
     "Exceptions : « 2026-02-30 » n'est pas une date."),
    ({"opening_hours-x0-date": "2026-12-25"},
     "25 December 2026: tick “Closed” or give the opening hours of that day.",
     "25 décembre 2026 : cochez « Fermé » ou indiquez les horaires de ce jour."),
    ({"opening_hours-x0-date": "2026-12-25", "opening_hours-x0-closed": "on",
      "opening_hours-x1-date": "2026-12-25", "opening_hours-x1-closed": "on"},
     "25 December 2026 is listed twice in the exceptions.",
     "Le 25 décembre 2026 figure deux fois dans les exceptions."),
    ({"opening_hours-x0-date": "2026-12-24", "opening_hours-x0-0-start": "12:00",
      "opening_hours-x0-0-end": "08:00"},
     "24 December 2026: the range 12:00–08:00 ends before it starts.",
     "24 décembre 2026 : la plage 12:00–08:00 se termine avant de commencer."),
])
@pytest.mark.parametrize("language", ["en", "fr"])
def test_bad_hours_are_refused_with_a_translated_message_and_nothing_changes(
        merchant_client, business, typed, english, french, language):
    before = snapshot(business)
    data = edit_form_data(business, **typed)
    response = merchant_client.post(reverse("businesses:detail", args=[business.pk]), data,
                                    **(ENGLISH if language == "en" else FRENCH))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="alert alert-error hours-errors"' in html
    assert (english if language == "en" else french) in html.replace("&#x27;", "'")
    assert snapshot(business) == before


def test_a_refused_form_keeps_what_was_typed(merchant_client, business):
    data = edit_form_data(business, **{
        "opening_hours-monday-0-start": "08:00", "opening_hours-monday-0-end": "12:30",
        "opening_hours-monday-1-start": "12:00", "opening_hours-monday-1-end": "19:00",
        "opening_hours-x0-date": "2026-12-25", "opening_hours-x0-closed": "on"})
    html = merchant_client.post(reverse("businesses:detail", args=[business.pk]), data,
                                **ENGLISH).content.decode()
    assert 'name="opening_hours-monday-1-start" value="12:00"' in html
    assert 'name="opening_hours-x0-date" value="2026-12-25"' in html
    assert 'name="opening_hours-x0-closed" checked' in html


@pytest.mark.parametrize(("field", "value", "message"), [
    ("last_call_minutes", "241", "Ensure this value is less than or equal to 240."),
    ("timezone", "Mars/Olympus", "Select a valid choice."),
])
def test_last_call_and_time_zone_are_checked(merchant_client, business, field, value, message):
    response = merchant_client.post(reverse("businesses:detail", args=[business.pk]),
                                    edit_form_data(business, **{field: value}), **ENGLISH)
    assert message in response.content.decode()


def test_the_form_starts_in_paris_time_with_no_last_call(merchant):
    form = BusinessForm()
    html = str(form["timezone"])
    assert '<option value="Europe/Paris" selected>' in html
    assert form["last_call_minutes"].value() == 0


# --- The admin uses the same widget ------------------------------------------------------------


@pytest.fixture
def staff_client(client, db):
    staff = User.objects.create_superuser("staff@waitify.fr", "a-long-staff-password")
    client.force_login(staff)
    return client


def test_staff_edit_opening_hours_with_the_merchants_widget(staff_client, business):
    url = reverse("admin:businesses_business_change", args=[business.pk])
    page = staff_client.get(url, **ENGLISH)
    html = page.content.decode()
    assert 'type="time" name="opening_hours-monday-0-start"' in html
    assert 'type="date" class="oh-date" name="opening_hours-x0-date"' in html
    assert "css/opening_hours.css" in html
    assert "<textarea" not in html.split('class="opening-hours"')[0][-400:]

    data = {**as_submitted(page), **hours_data(SHOP_WEEK)}
    response = staff_client.post(url, data, **ENGLISH)
    assert response.status_code == 302
    business.refresh_from_db()
    assert business.opening_hours == SHOP_WEEK


def test_staff_get_the_same_translated_error(staff_client, business):
    url = reverse("admin:businesses_business_change", args=[business.pk])
    data = {**as_submitted(staff_client.get(url)), **hours_data({}),
            "opening_hours-friday-0-start": "19:00", "opening_hours-friday-0-end": "09:00"}
    response = staff_client.post(url, data, **FRENCH)
    assert response.status_code == 200
    assert "Vendredi : la plage 19:00–09:00 se termine avant de commencer." in \
        response.content.decode()
    business.refresh_from_db()
    assert business.opening_hours == {}
