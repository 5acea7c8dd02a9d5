"""The lexicon of requests for a person (bot/nlu/person_phrases.yml): any wording a customer
uses for "a person", in their own script, hands over even when the classifier scores it low."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.nlu.person_phrases import PersonPhrases, fold

PHRASES = PersonPhrases.load()


@pytest.mark.parametrize(
    "text",
    [
        "human",
        "AGENT!!",
        "operator please",
        "a real person",
        "i want agent",
        "Хочу поговорить с оператором",  # Russian, inflected
        "Соедините меня с живым человеком, пожалуйста",
        "我要转人工",  # Chinese, no spaces
        "人工客服在吗",
        "オペレーターと話したいです",  # Japanese
        "أريد التحدث مع موظف خدمة العملاء",  # Arabic
        "मुझे किसी इंसान से बात करनी है",  # Hindi
        "Bir müşteri temsilcisiyle görüşmek istiyorum",  # Turkish, suffixed
        "quiero hablar con un agente",
        "QUIERO HABLAR CON UNA PERSONA",
        "je veux parler à un conseiller",
        "je veux parler a un conseiller",  # accents left out
        "상담원 연결해 주세요",  # Korean
        "ขอคุยกับพนักงานหน่อย",  # Thai
        # Compound and frustrated: the request is one clause of the message.
        "I've been waiting for my refund for a month. Put me through to an agent.",
        "my invoice is wrong and I'd rather discuss it with a person",
        "this is taking forever, just connect me",
        "do you have human support ?",
        "can I have an agent call me about order 10234?",
    ],
)
def test_requests_for_a_person_are_found(text: str) -> None:
    assert PHRASES.match(text) is not None, text


@pytest.mark.parametrize(
    "text",
    [
        "where is my order 10234",
        "the delivery person left it at the wrong door",
        "can I change my personal details",
        "what payment methods do you accept",
        "how long does shipping to Spain take",
        "¿Dónde está mi pedido?",
        "Где мой заказ 10234?",
        "我的订单什么时候到",
        "agents of shield season 2 dvd",
        "what do you call someone who was born in segovia",
        "can you connect me with my order history",
        "your agent on the phone hung up on me",
    ],
)
def test_ordinary_questions_are_not_requests(text: str) -> None:
    assert PHRASES.match(text) is None, text


def test_folding_makes_case_and_accents_one_word() -> None:
    assert fold("OPERADÓR") == fold("operador")
    assert fold("Ｈｕｍａｎ") == "human"  # full-width letters, as some keyboards type them


def test_a_lexicon_of_its_own_matches_on_word_starts_only() -> None:
    phrases = PersonPhrases.from_mapping(
        {"languages": {"en": {"phrases": ["live agent"], "alone": ["rep"]}}}
    )
    assert phrases.match("give me a live agent now") == "live agent"
    assert phrases.match("live agents please") == "live agent"  # runs on: inflections
    assert phrases.match("olive agent") is None  # not from the middle of a word
    assert phrases.match("rep pls") == "rep"
    assert phrases.match("rep my order 10234") is None  # alone words only alone


def test_the_lexicon_knows_most_requests_written_in_21_languages() -> None:
    """A regression check for edits to the lexicon: the examples written with it, in every
    language (tests/unit/person_requests_in_21_languages.yml)."""
    path = Path(__file__).with_name("person_requests_in_21_languages.yml")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    examples = [
        line.strip()[2:]
        for item in data["nlu"]
        for line in item["examples"].splitlines()
        if line.strip().startswith("- ")
    ]
    missed = [text for text in examples if PHRASES.match(text) is None]
    assert len(examples) >= 21 * 12
    assert len(missed) <= len(examples) * 0.05, missed


def test_a_one_word_request_typed_in_a_hurry_is_still_one() -> None:
    for typed in ("humaaaan", "representitive", "opertor", "agnet pls", "HUMMAN!!"):
        assert PHRASES.match(typed) is not None, typed
    # Short words need to be exact: "hman" is a slip, "rap" is another word.
    for other in ("rap", "perso nal", "humanity", "agenda"):
        assert PHRASES.match(other) is None, other
