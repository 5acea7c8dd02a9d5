"""Photos and files sent in a conversation, kept in Redis for delivery and for history."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bridge import keys
from bridge.models import Attachment


@dataclass(frozen=True)
class FileMeta:
    name: str
    type: str
    owner: str  # the conversation that uploaded it separately ("" when sent with a message)


class Files:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def put(self, attachment: Attachment, owner: str = "") -> str:
        """Keep a photo or file; returns its unguessable id.

        `owner`: the conversation that uploaded it, when a customer sends it separately.
        """
        file_id = secrets.token_urlsafe(18)
        key = keys.attachment(file_id)
        data = base64.b64encode(attachment.data).decode()  # the client decodes replies as text
        fields: dict[Any, Any] = {
            "name": attachment.name,
            "type": attachment.type,
            "data": data,
            "owner": owner,
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, keys.ATTACHMENT_TTL_S)
            await pipe.execute()
        return file_id

    async def meta(self, file_id: str) -> FileMeta | None:
        """Name, type and owner of a stored file, without its contents."""
        found: Any = await self._redis.hmget(keys.attachment(file_id), ["name", "type", "owner"])
        name, kind, owner = found
        if name is None:
            return None
        return FileMeta(str(name), str(kind), str(owner or ""))

    async def get(self, file_id: str) -> Attachment | None:
        found: Any = await self._redis.hgetall(keys.attachment(file_id))
        if not found:
            return None
        return Attachment(base64.b64decode(found["data"]), found["name"], found["type"])
