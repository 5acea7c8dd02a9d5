"""Which conversation a customer is in, and who they are: signed identities from the shop's
pages, Telegram chats linked from its account page, and signing out (docs/identity.md).

A conversation belongs to at most one customer. A widget session that was signed in continues
only for that same customer: a page that signs in someone else, or no one, starts a new
conversation, so a shared computer never shows one customer's chat to the next.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace

from bridge import keys
from bridge.identity import (
    WIDGET_AUDIENCE,
    IdentityRefused,
    IdentityVerifier,
    SignedIdentity,
    WidgetSession,
)
from bridge.models import (
    WIDGET_PREFIX,
    Channel,
    Conversation,
    Customer,
    Message,
    Role,
    Verification,
)
from bridge.outbox.outbox import Outbox
from bridge.store.stores import Store
from bridge.texts import customers as texts

log = logging.getLogger(__name__)


class SignIn:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        verifier: IdentityVerifier,
        link_ttl_s: int = 900,
        retention_s: int = 30 * 24 * 3600,
    ) -> None:
        self._store = store
        self._retention_s = retention_s
        self._outbox = outbox
        self._verifier = verifier
        self._link_ttl_s = link_ttl_s

    async def widget_session(
        self, conversation_id: str | None, identity_token: str | None, source: str
    ) -> WidgetSession:
        """The conversation a widget connection speaks for: its session's (`conversation_id`,
        whose session token was verified) when it may continue, else a new one. A valid
        `identity_token` (from the shop's page) signs its customer in; a refused one is said so
        in `refused`, and the connection continues as a guest."""
        refused: IdentityRefused | None = None
        identity: SignedIdentity | None = None
        if identity_token is not None:
            try:
                identity = self._verifier.verify(
                    identity_token, WIDGET_AUDIENCE, Verification.WEB_LOGIN
                )
            except IdentityRefused as exc:
                refused = exc
        conversations, identities = self._store.conversations, self._store.identities
        found = await conversations.get(conversation_id) if conversation_id else None
        current = found if found is not None and found.channel is Channel.WIDGET else None
        # The session continues this conversation: a stored one, or one not yet stored (its
        # customer has not written), whose id the session token still grants.
        continues = current.id if current else (conversation_id if found is None else None)
        if identity is not None and identity.token_id:
            holder = await identities.token_holder(identity.token_id)
            if holder and holder != continues:
                refused = IdentityRefused("replayed", "it was already used in another browser")
                identity = None
        customer = identity.customer if identity is not None else None
        if current is not None and current.customer is not None:
            if customer is None or customer.id != current.customer.id:
                current = None  # signed out, or someone else signed in
        stored = current is not None
        if current is None:
            # Nothing is stored until the customer's first message (`begin`); a session that
            # never spoke keeps its id across reconnects, with nothing to show.
            unused = continues if found is None and conversation_id else ""
            # A guest's id says so: its desk jobs go to the guests' partitions (bridge/keys.py).
            prefix = WIDGET_PREFIX if customer is not None else keys.GUEST_CONVERSATION_PREFIX
            pending_id = unused or f"{prefix}{uuid.uuid4().hex}"
            current = Conversation(pending_id, Channel.WIDGET, pending_id, "")
        if identity is not None and identity.token_id:
            await identities.claim_token(identity.token_id, current.id, identity.expires_at)
        if stored and customer is not None and customer != current.customer:
            await identities.bind(current.id, customer)
        if stored and source and source != current.source:
            await identities.set_source(current.id, source)
        current = replace(current, customer=customer or current.customer, source=source)
        return WidgetSession(current, refused, stored)

    async def begin(self, conversation: Conversation) -> Conversation:
        """Store a widget conversation at its first message, with who is signed in to it and
        where from; every key it writes expires."""
        stored = await self._store.conversations.ensure(
            conversation.id,
            conversation.channel,
            conversation.external_id,
            conversation.display_name,
            self._retention_s,
            source=conversation.source,
        )
        if conversation.customer is not None:
            await self._store.identities.bind(conversation.id, conversation.customer)
        return replace(stored, customer=conversation.customer, source=conversation.source)

    async def link_chat(self, conversation: Conversation, code: str) -> Customer | None:
        """`/start <code>` in a Telegram chat: sign the code's customer in to this chat, once.
        The customer is told either way."""
        customer = await self._store.identities.redeem_link_code(code) if code else None
        if customer is None:
            await self._tell(conversation, texts.LINK_REFUSED)
            return None
        await self._store.identities.bind(conversation.id, customer)
        await self._tell(conversation, texts.linked(customer.email or customer.name))
        log.info("linked %s to customer %s", conversation.id, customer.id)
        return customer

    async def unlink_chat(self, conversation: Conversation) -> None:
        """The customer signs their chat out (`/unlink`)."""
        if conversation.customer is None:
            await self._tell(conversation, texts.NOT_LINKED)
            return
        await self._store.identities.bind(conversation.id, None)
        await self._tell(conversation, texts.UNLINKED)

    async def issue_link(self, customer: Customer) -> str:
        """The shop asks for a one-time code its account page shows as a Telegram link."""
        return await self._store.identities.issue_link_code(customer, self._link_ttl_s)

    async def unlink_customer(self, customer_id: str) -> int:
        """The shop signs its customer out of every linked chat; returns how many."""
        identities = self._store.identities
        unlinked = 0
        for conversation_id in await identities.conversations_of(customer_id):
            conversation = await self._store.conversations.get(conversation_id)
            if conversation is None or conversation.customer is None:
                continue
            if conversation.customer.id == customer_id:
                await identities.bind(conversation_id, None)
                if conversation.channel is Channel.TELEGRAM:
                    await self._tell(conversation, texts.UNLINKED)
                unlinked += 1
        await identities.forget_customer(customer_id)
        return unlinked

    async def _tell(self, conversation: Conversation, text: str) -> None:
        await self._outbox.to_customer(conversation, Message(role=Role.SYSTEM, text=text))
