"""Widget session tokens: a conversation id and the time it was issued, signed by the bridge, so
nobody can guess another's; valid for a while after issue (renewed at every reconnect) and
revocable on the server (docs/widget-protocol.md, "Sessions")."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any

from redis.asyncio import Redis

from bridge import keys

_VERSION = "v2"


class SessionTokens:
    def __init__(self, secret: str, redis: Redis, ttl_s: int = 7 * 24 * 3600) -> None:
        self._key = secret.encode()
        self._redis = redis
        self.ttl_s = min(ttl_s, keys.SESSION_MAX_TTL_S)

    def issue(self, conversation_id: str, now: float | None = None) -> str:
        issued = str(int(time.time() if now is None else now))
        return f"{_VERSION}.{conversation_id}.{issued}.{self._signature(conversation_id, issued)}"

    async def verify(self, token: object) -> str | None:
        """The conversation id the token grants; None for anything we did not sign, an expired
        token, or one issued before its conversation's sessions were revoked."""
        if not isinstance(token, str) or len(token) > 256 or token.count(".") != 3:
            return None
        version, conversation_id, issued, signature = token.split(".")
        if version != _VERSION or not issued.isdigit():
            return None
        # As bytes: compare_digest refuses str with non-ASCII characters (any client can send).
        expected = self._signature(conversation_id, issued).encode()
        if not hmac.compare_digest(signature.encode(), expected):
            return None
        if int(issued) + self.ttl_s < time.time():
            return None
        revoked: Any = await self._redis.get(keys.revoked_sessions(conversation_id))
        if revoked is not None and int(issued) <= int(revoked):
            return None
        return conversation_id

    def _signature(self, conversation_id: str, issued: str) -> str:
        signed = f"{_VERSION}|{conversation_id}|{issued}".encode()
        digest = hmac.new(self._key, signed, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


async def revoke(redis: Redis, conversation_id: str) -> None:
    """Refuse every session token of the conversation issued until now (`make forget`)."""
    await redis.set(
        keys.revoked_sessions(conversation_id), str(int(time.time())), ex=keys.SESSION_MAX_TTL_S
    )


async def shared_secret(redis: Redis) -> str:
    """The signing key when none is configured: every replica must sign and verify with the
    same one, so the first to start makes it and keeps it in Redis."""
    await redis.set(keys.WIDGET_SECRET, secrets.token_urlsafe(32), nx=True)
    return str(await redis.get(keys.WIDGET_SECRET))
