"""Who is signed in to which conversation: the shop's customer bound to a conversation, the
one-time codes that link a Telegram chat, the identity tokens already used, and each customer's
conversations and staff threads across channels."""

from __future__ import annotations

import json
import secrets
from typing import Any

from redis.asyncio import Redis

from bridge import keys, redis_pool
from bridge.models import CUSTOMER_FIELDS, Customer, Verification
from bridge.store.conversations import SET_IF_STORED

# Takes a one-time link code (GETDEL needs Redis 6.2; this works on any).
_REDEEM = """
local value = redis.call('GET', KEYS[1])
if value then redis.call('DEL', KEYS[1]) end
return value
"""


class Identities:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._redeem = redis.register_script(_REDEEM)
        self._set_if_stored = redis.register_script(SET_IF_STORED)

    async def bind(self, conversation_id: str, customer: Customer | None) -> None:
        """Sign `customer` in to the conversation (None signs whoever it was out)."""
        key = keys.conversation(conversation_id)
        async with redis_pool.transaction(self._redis) as pipe:
            if customer is None:
                pipe.hdel(key, *CUSTOMER_FIELDS)
            else:
                fields: dict[Any, Any] = customer.to_fields()
                pipe.hset(key, mapping=fields)
                index = keys.customer_conversations(customer.id)
                pipe.sadd(index, conversation_id)
                pipe.expire(index, keys.CUSTOMER_INDEX_TTL_S)
            await pipe.execute()

    async def set_source(self, conversation_id: str, source: str) -> None:
        await self._set_if_stored(
            keys=[keys.conversation(conversation_id)], args=["source", source]
        )

    async def token_holder(self, token_id: str) -> str | None:
        """The conversation that first used identity token `token_id`, if any."""
        holder = await self._redis.get(keys.identity_token(token_id))
        return str(holder) if holder is not None else None

    async def claim_token(self, token_id: str, conversation_id: str, expires_at: int) -> None:
        """Identity token `token_id` is this conversation's from now on, until it expires."""
        key = keys.identity_token(token_id)
        await self._redis.set(key, conversation_id, nx=True, exat=max(expires_at, 1) + 60)

    async def issue_link_code(self, customer: Customer, ttl_s: int) -> str:
        """A one-time code that signs `customer` in to the Telegram chat that redeems it."""
        code = secrets.token_urlsafe(24)  # 32 characters: a Telegram start parameter holds 64
        record = {"id": customer.id, "email": customer.email, "name": customer.name}
        await self._redis.set(keys.telegram_link_code(code), json.dumps(record), ex=ttl_s)
        return code

    async def redeem_link_code(self, code: str) -> Customer | None:
        """The customer of a link code, once: a used or expired code answers None."""
        raw: Any = await self._redeem(keys=[keys.telegram_link_code(code)])
        if not raw:
            return None
        record = json.loads(raw)
        return Customer(record["id"], record["email"], record["name"], Verification.LINKED_CHAT)

    async def conversations_of(self, customer_id: str) -> list[str]:
        found: Any = await self._redis.smembers(keys.customer_conversations(customer_id))
        return sorted(str(c) for c in found)

    async def forget_customer(self, customer_id: str) -> None:
        await self._redis.delete(keys.customer_conversations(customer_id))

    async def threads_of(self, customer_id: str) -> list[str]:
        """The customer's staff threads on every channel, oldest first."""
        found: Any = await self._redis.lrange(keys.customer_threads(customer_id), 0, -1)
        return [str(t) for t in found]
