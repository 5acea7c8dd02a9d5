"""What a message is about, for topic spikes: its subject words, and a group's name."""

from __future__ import annotations

from bridge.learning import topics


def test_subject_words_leave_out_filler_and_fold_plurals() -> None:
    assert topics.content_words("Do you sell GIFT cards?") == ["sell", "gift", "card"]
    assert topics.content_words("is there a glass vase in stock") == ["glass", "vase", "stock"]


def test_two_wordings_of_one_subject_share_their_hashed_words() -> None:
    one, two = topics.features("gift cards?"), topics.features("a gift card for my sister")
    assert set(one) < set(two)
    assert not set(one) & set(topics.features("when does the black friday sale start"))
    # The store keeps hashes, never the customer's words.
    assert "gift" not in "".join(one)


def test_a_group_is_named_by_the_words_most_of_its_examples_share() -> None:
    examples = ["do you sell gift cards?", "can I buy a gift card", "gift card balance?"]
    assert topics.label(examples) == "card, gift"
    assert topics.label(["??"]) == "(no words)"


def test_only_a_confident_intent_about_a_subject_is_a_topic() -> None:
    assert topics.is_subject_intent("track_order", 0.95)
    assert not topics.is_subject_intent("track_order", 0.6)
    assert not topics.is_subject_intent("out_of_scope", 0.99)
    assert not topics.is_subject_intent("contact_human_agent", 0.99)
