"""The bridge's side of issue 15: the language the assistant reports with a handoff, what the
customer is told in it, and the words (not the payload) the card shows for a tapped button."""

from __future__ import annotations

from bridge.models import HandoffReason
from bridge.rasa_client import SAID, _understood, parse_turn
from bridge.texts import customers
from bridge.texts.languages import LANGUAGES, language_name, texts_for


def _handoff(reason: str, language: object = None) -> list[dict[str, object]]:
    payload: dict[str, object] = {"reason": reason}
    if language is not None:
        payload["language"] = language
    return [{"recipient_id": "c", "custom": {"handoff": payload}}]


def test_the_language_of_a_handoff_is_read() -> None:
    turn = parse_turn(_handoff("language", "ru"))
    assert turn.handoff is HandoffReason.LANGUAGE and turn.language == "ru"
    assert parse_turn(_handoff("not_resolved")).handoff is HandoffReason.NOT_RESOLVED


def test_a_language_code_that_is_not_one_is_ignored() -> None:
    for junk in ("<script>", "russian", 7, "", "r1"):
        assert parse_turn(_handoff("explicit_request", junk)).language == ""


def test_the_customer_is_told_in_their_own_language() -> None:
    russian = texts_for("ru")
    assert russian is not None
    assert customers.handoff_notice(HandoffReason.EXPLICIT_REQUEST, "ru") == russian.to_person
    assert customers.handoff_notice(HandoffReason.LANGUAGE, "ru") == russian.not_answered
    # English, or a language with no texts: the English notice.
    english = customers.handoff_notice(HandoffReason.EXPLICIT_REQUEST)
    assert customers.handoff_notice(HandoffReason.EXPLICIT_REQUEST, "xx") == english
    assert "English" in customers.handoff_notice(HandoffReason.LANGUAGE, "xx")


def test_twenty_languages_have_every_text() -> None:
    others = [code for code in LANGUAGES if code != "en"]
    assert len(others) >= 20
    for code in others:
        texts = LANGUAGES[code]
        assert texts.to_person and texts.not_answered and texts.after_hours, code
        assert texts.not_answered != LANGUAGES["en"].not_answered, code
    assert language_name("pt-BR") == "Portuguese"


def test_the_card_shows_the_title_of_a_tapped_button() -> None:
    event = {
        "event": "user",
        "text": "/contact_human_agent",
        "metadata": {SAID: "Talk to a person"},
        "parse_data": {"intent": {"name": "contact_human_agent", "confidence": 1.0}},
    }
    understood = _understood(event)
    assert understood.text == "Talk to a person" and understood.intent == "contact_human_agent"
    typed = _understood({**event, "text": "hello", "metadata": {}})
    assert typed.text == "hello"
