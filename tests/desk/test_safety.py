"""Customer text cannot ping or forge links; only staff replies in our own threads are relayed."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from devstack.stack import Stack
from tests.desk.helpers import Desk, card_text
from tests.support import STAFF_CHANNEL, TelegramCustomer, eventually, telegram_handoff


async def test_customer_text_on_the_card_cannot_ping_or_link(stack: Stack, chat_id: int) -> None:
    desk = Desk(stack.slack_url)
    customer = TelegramCustomer(stack.telegram_url, chat_id, first_name="<!channel> <@U0ALICE>")
    await customer.say("<!here> talk to a person <http://evil.example|your bank>")
    await customer.say("I want to talk to a person")
    await customer.wait_for(lambda t: "person from our team" in t, "the handoff notice")
    card_ts = await desk.wait_for_thread(f"tg-{chat_id}")
    card = await desk.card(card_ts)
    everything = card["text"] + card_text(card) + await desk.thread_text(card_ts)
    for control in ("<!channel>", "<!here>", "<@U0ALICE>", "<http://evil"):
        assert control not in everything
    assert "&lt;!channel&gt;" in card_text(card)


async def test_only_staff_replies_in_our_current_threads_reach_the_customer(
    stack: Stack, chat_id: int
) -> None:
    desk = Desk(stack.slack_url)
    customer, card_ts = await telegram_handoff(stack.telegram_url, desk, chat_id, "Noor")
    api = f"{stack.slack_url}/api/"

    # Another app posting in our thread.
    other_app = AsyncWebClient(token="xoxb-other-app", base_url=api)
    await other_app.chat_postMessage(channel=STAFF_CHANNEL, thread_ts=card_ts, text="BOT SPAM")
    # Our own app posting in the thread (as the bridge does for transcripts).
    await desk.reader.chat_postMessage(channel=STAFF_CHANNEL, thread_ts=card_ts, text="SELF")
    # A person replying in a thread that is not a handoff.
    other = await desk.reader.chat_postMessage(channel=STAFF_CHANNEL, text="lunch?")
    await desk.say(str(other["ts"]), "UNKNOWN THREAD")
    # The same reply in another channel's thread.
    created = await desk.person.conversations_create(name=f"random-{chat_id}")
    channel = created["channel"]["id"]
    parent = await desk.reader.chat_postMessage(channel=channel, text=f"tg-{chat_id}")
    await desk.person.chat_postMessage(channel=channel, thread_ts=parent["ts"], text="ELSEWHERE")

    # A real reply afterwards: once it arrives, the ignored ones had their chance to leak.
    await desk.say(card_ts, "The real answer")
    texts = await customer.wait_for(lambda t: "The real answer" in t, "the real reply")
    leaked = [t for t in texts if any(w in t for w in ("SPAM", "SELF", "UNKNOWN", "ELSEWHERE"))]
    assert leaked == []
    # Nothing was posted back into the unrelated thread either.
    assert [m.get("text") for m in await desk.thread(str(other["ts"]))] == [
        "lunch?",
        "UNKNOWN THREAD",
    ]
    await eventually(
        lambda: desk.thread_text(card_ts), lambda t: "The real answer" in t, what="reply"
    )
