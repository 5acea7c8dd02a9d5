"""Whether a message is in a language the assistant does not answer (bot/nlu/language_guess.py):
another script always is; a Latin message only with clear evidence, so short English stays."""

from __future__ import annotations

from bot.nlu.language_guess import UNDETERMINED, decide


def test_another_script_is_foreign_whatever_the_margin() -> None:
    guess = decide("где мой заказ", {"ru": 0.4, "uk": 0.35, "en": 0.0})
    assert guess.foreign and guess.code == "ru"
    assert decide("我的订单", {"zh": 0.9}).foreign


def test_a_clear_latin_language_is_foreign() -> None:
    guess = decide("quiero hablar con una persona", {"es": 0.85, "it": 0.03, "en": 0.01})
    assert guess.foreign and guess.code == "es"


def test_short_or_close_latin_messages_stay_english() -> None:
    # One or two words need a near-certain detector (lingua's own figures for these).
    assert not decide("hola", {"es": 0.15, "id": 0.13, "en": 0.1}).foreign
    assert not decide("merci beaucoup", {"fr": 0.6, "it": 0.2, "en": 0.05}).foreign
    assert decide("Mitarbeiter", {"de": 0.98, "nl": 0.02, "en": 0.0}).foreign
    # English close behind: the classifier decides, not the language detector.
    assert not decide("cancel my order pls", {"pl": 0.6, "en": 0.2}).foreign
    guess = decide("where is my order", {"en": 0.4, "de": 0.13})
    assert not guess.foreign and guess.code == "en"


def test_too_few_letters_is_undetermined() -> None:
    assert decide("10234", {"en": 0.1}).code == UNDETERMINED
    assert not decide("?!", {}).foreign
