"""The seams between the inbound adapters and the router: what each adapter may ask for, and
nothing more. The app factory (bridge/app.py) hands each adapter the object that implements its
door; adapters never see Redis, the store or the outbox."""

from __future__ import annotations

from typing import Protocol

from bridge.identity import WidgetSession
from bridge.learning.marks import Line, MarkKind
from bridge.models import (
    Attachment,
    Channel,
    Conversation,
    Customer,
    DeskAction,
    Message,
    StaffMessageRef,
    StaffReply,
)
from bridge.store.files import FileMeta
from bridge.store.transcript import Inbound


class CustomerDoor(Protocol):
    """For a customer channel (widget, Telegram): implemented by router.customers.CustomerSide."""

    async def ensure(
        self, conversation_id: str, channel: Channel, external_id: str, display_name: str
    ) -> Conversation: ...

    async def history(self, conversation_id: str, since: str | None = None) -> list[Message]: ...

    async def put_file(self, attachment: Attachment, owner: str = "") -> str: ...

    async def file_meta(self, file_id: str) -> FileMeta | None: ...

    async def get_file(self, file_id: str) -> Attachment | None: ...

    def per_minute(self, channel: Channel) -> int: ...

    async def within_quota(self, conversation: Conversation) -> bool: ...

    async def accept(
        self,
        conversation: Conversation,
        message: Message,
        event_id: str,
        attachment: Attachment | None = None,
        check_quota: bool = False,
        payload: str = "",
    ) -> Inbound: ...

    async def respond(self, conversation: Conversation, inbound: Inbound) -> None: ...

    async def slow_down(self, conversation: Conversation, window: str) -> None: ...


class IdentityDoor(Protocol):
    """For a customer channel, who the customer is: implemented by router.sign_in.SignIn."""

    async def widget_session(
        self, conversation_id: str | None, identity_token: str | None, source: str
    ) -> WidgetSession: ...

    async def begin(self, conversation: Conversation) -> Conversation: ...

    async def link_chat(self, conversation: Conversation, code: str) -> Customer | None: ...

    async def unlink_chat(self, conversation: Conversation) -> None: ...


class ShopDoor(Protocol):
    """For the shop's own server (link a chat, sign a customer out): router.sign_in.SignIn."""

    async def issue_link(self, customer: Customer) -> str: ...

    async def unlink_customer(self, customer_id: str) -> int: ...


class StaffDoor(Protocol):
    """For the staff desk (Slack): implemented by router.staff.StaffSide."""

    async def staff_reply(self, reply: StaffReply) -> Message | None: ...

    async def desk_action(
        self, action: DeskAction, channel: str, card: str, user_id: str, user_name: str
    ) -> str: ...

    async def staff_revision(
        self, ref: StaffMessageRef, text: str | None, author: str, event_id: str
    ) -> bool: ...


class MarksDoor(Protocol):
    """For staff marks (docs/learning.md): implemented by learning.marks.StaffMarks."""

    async def react(
        self,
        ref: StaffMessageRef,
        shown: list[Line],
        kind: MarkKind,
        user: str,
        added: bool,
        user_name: str = "",
        event_id: str = "",
    ) -> object: ...

    async def pick(
        self,
        picker: StaffMessageRef,
        line: Line | None,
        kind: MarkKind,
        on: str,
        user: str,
        user_name: str = "",
        click_id: str = "",
    ) -> object: ...

    async def command(
        self, ref: StaffMessageRef, text: str, user: str, author: str, lines: list[Line]
    ) -> None: ...
