"""SMS texts: GSM-7 segment counting, and every template in one segment."""

from __future__ import annotations

import pytest

from queues import services
from queues.models import CancelledBy, QueueEntry, SmsType
from queues.sms.gsm7 import encoding, is_gsm7, segment_count, septet_length, to_gsm7
from queues.sms.texts import compose_sms
from queues.tests.factories import join, open_queue

LONG_NAME = "Boulangerie-Pâtisserie Artisanale du Vieux Port de Marseille"  # 60 characters


def test_an_empty_text_costs_nothing():
    assert segment_count("") == 0


@pytest.mark.parametrize(("text", "segments"), [
    ("a" * 160, 1),
    ("a" * 161, 2),
    ("a" * 306, 2),
    ("a" * 307, 3),
    ("é" * 160, 1),  # é, è, à, ù are in the GSM-7 basic set
])
def test_gsm7_texts_fit_160_then_153_per_segment(text, segments):
    assert is_gsm7(text)
    assert segment_count(text) == segments


def test_extension_characters_count_twice():
    assert septet_length("€") == 2
    assert segment_count("€" * 80) == 1
    assert segment_count("€" * 80 + "a") == 2
    assert segment_count("[]{}" * 20) == 1


def test_an_escape_pair_is_never_split_across_segments():
    # 152 plain characters then "€": the pair does not fit in part one (153).
    assert segment_count("a" * 152 + "€" + "a" * 152) == 3
    assert segment_count("a" * 151 + "€" + "a" * 153) == 2


@pytest.mark.parametrize(("text", "segments"), [
    ("ê" * 70, 1),
    ("ê" * 71, 2),
    ("ê" * 134, 2),
    ("ê" * 135, 3),
    ("😀" * 35, 1),  # outside the BMP: two UTF-16 units each
    ("😀" * 36, 2),
])
def test_one_character_outside_gsm7_makes_the_text_ucs2(text, segments):
    assert encoding(text) == "UCS-2"
    assert segment_count(text) == segments


def test_typography_and_missing_accents_are_replaced_to_stay_gsm7():
    assert to_gsm7("L’Épi d’or – « fraîche » … ça") == "L'Épi d'or - \" fraiche \" ... ca"
    assert to_gsm7("Crème brûlée") == "Crème brulée"  # è and é are GSM-7, û is not


def test_a_text_that_needs_ucs2_anyway_keeps_its_accents():
    assert to_gsm7("Fraîche 😀") == "Fraîche 😀"


@pytest.fixture
def long_named_queue(business):
    business.name = LONG_NAME
    business.save(update_fields=["name"])
    return open_queue(business)


def _entry_in_every_state(queue) -> QueueEntry:
    """An entry with a realistic three-digit ticket and a two-digit position."""
    entry = join(queue, "06 12 34 56 78")
    entry.ticket_number, entry.position, entry.estimated_wait_seconds = 123, 48, 89 * 60
    return entry


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("sms_type", SmsType.values)
def test_every_template_fits_one_gsm7_segment_with_a_60_character_name(
        long_named_queue, sms_type, language):
    entry = _entry_in_every_state(long_named_queue)
    entry.language = language
    text = compose_sms(sms_type, entry=entry, business=long_named_queue)
    assert is_gsm7(text), text
    assert segment_count(text) == 1, (len(text), text)
    assert "A-123" in text


@pytest.mark.parametrize("sms_type", SmsType.values)
def test_a_short_name_is_never_cut(business, sms_type):
    queue = open_queue(business)
    text = compose_sms(sms_type, entry=_entry_in_every_state(queue), business=queue)
    assert text.startswith("Boulangerie Martin")
    assert segment_count(text) == 1


def test_texts_are_french_by_default_and_english_for_english_customers(business):
    queue = open_queue(business)
    entry = join(queue, "06 12 34 56 78")
    french = compose_sms(SmsType.YOUR_TURN, entry=entry, business=queue)
    entry.language = "en"
    english = compose_sms(SmsType.YOUR_TURN, entry=entry, business=queue)
    assert "c'est votre tour" in french and "5 min" in french
    assert "it's your turn" in english and "5 min" in english


@pytest.mark.parametrize(("minutes", "french"), [
    (1, "présentez-vous au comptoir dans 1 min."),
    (5, "présentez-vous au comptoir dans les 5 min."),
])
def test_your_turn_says_the_minutes_in_good_french(business, minutes, french):
    business.client_timeout_minutes = minutes
    business.save()
    queue = open_queue(business)
    entry = join(queue, "06 12 34 56 78")

    text = compose_sms(SmsType.YOUR_TURN, entry=entry, business=queue)

    assert text.endswith(french), text


def test_the_confirmation_gives_ticket_position_estimate_and_status_link(business):
    queue = open_queue(business)
    join(queue)
    entry = join(queue, "06 12 34 56 78")
    text = compose_sms(SmsType.CONFIRMATION, entry=entry, business=queue)
    assert "A-002" in text and "position 2" in text
    assert f"https://waitify.test/q/s/{entry.secret}" in text
    minutes = round(entry.estimated_wait_seconds / 60)
    assert f"~{minutes} min" in text


def test_the_missed_text_offers_the_rejoin_window_with_the_link(business):
    queue = open_queue(business)
    entry = join(queue, "06 12 34 56 78")
    text = compose_sms(SmsType.MISSED, entry=entry, business=queue)
    assert f"{int(services.REJOIN_WINDOW.total_seconds() // 60)} min" in text
    assert entry.secret in text


def test_the_custom_message_is_added_and_counted(business):
    queue = open_queue(business)
    queue.custom_message = "Merci d’attendre devant la vitrine, côté rue."
    entry = join(queue, "06 12 34 56 78")
    text = compose_sms(SmsType.YOUR_TURN, entry=entry, business=queue)
    assert text.endswith("Merci d'attendre devant la vitrine, coté rue.")
    assert segment_count(text) == 1


def test_a_long_name_is_shortened_to_make_room_for_the_custom_message(long_named_queue):
    long_named_queue.custom_message = "Entrée côté cour."
    entry = _entry_in_every_state(long_named_queue)
    text = compose_sms(SmsType.CONFIRMATION, entry=entry, business=long_named_queue)
    assert segment_count(text) == 1
    assert text.startswith("Boulangerie-Patisserie.")  # cut at a word, with a dot
    assert text.endswith("Entrée coté cour.")


def test_a_message_that_cannot_fit_is_sent_whole_on_two_segments(long_named_queue):
    long_named_queue.custom_message = "x" * 100
    entry = _entry_in_every_state(long_named_queue)
    text = compose_sms(SmsType.CONFIRMATION, entry=entry, business=long_named_queue)
    assert LONG_NAME.replace("â", "a") in text and text.endswith("x" * 100)
    assert segment_count(text) == 2


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_shop_closed_text_fits_one_segment_with_a_60_character_name(long_named_queue,
                                                                       language):
    entry = _entry_in_every_state(long_named_queue)
    entry.language, entry.cancelled_by = language, CancelledBy.SHOP_CLOSED
    text = compose_sms(SmsType.CANCELLED, entry=entry, business=long_named_queue)
    assert is_gsm7(text) and segment_count(text) == 1, (len(text), text)
    assert "A-123" in text
    assert {"fr": "a fermé sa file", "en": "has closed its queue"}[language] in text
