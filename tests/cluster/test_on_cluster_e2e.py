"""Existing end-to-end tests (the relay, the handoff, the card), run against the product with
its bridge on a Redis Cluster: the `stack` fixture of tests/cluster/conftest.py replaces the
standalone one for the tests imported here."""

from __future__ import annotations

from tests.desk.test_card import (
    test_card_tells_staff_who_why_and_what_the_bot_understood,
    test_long_transcripts_are_split_into_posts_never_cut,
)
from tests.desk.test_relay_fast_path import (
    test_a_redelivered_reply_reaches_telegram_once_and_can_be_edited,
    test_a_redelivered_reply_reaches_the_widget_once_with_a_receipt,
    test_commands_and_notes_stay_in_slack_around_plain_replies,
    test_only_the_first_reply_is_timed,
    test_replies_in_a_known_thread_follow_the_conversation_state,
)
from tests.e2e.test_telegram_handoff import (
    test_staff_replies_arrive_in_order,
    test_telegram_customer_reaches_staff_on_first_request,
)
from tests.e2e.test_widget_handoff import test_widget_customer_reaches_staff_and_keeps_history

__all__ = [
    "test_a_redelivered_reply_reaches_telegram_once_and_can_be_edited",
    "test_a_redelivered_reply_reaches_the_widget_once_with_a_receipt",
    "test_card_tells_staff_who_why_and_what_the_bot_understood",
    "test_commands_and_notes_stay_in_slack_around_plain_replies",
    "test_long_transcripts_are_split_into_posts_never_cut",
    "test_only_the_first_reply_is_timed",
    "test_replies_in_a_known_thread_follow_the_conversation_state",
    "test_staff_replies_arrive_in_order",
    "test_telegram_customer_reaches_staff_on_first_request",
    "test_widget_customer_reaches_staff_and_keeps_history",
]
