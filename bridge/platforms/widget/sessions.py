"""Widget session tokens: a conversation id signed by the bridge, so nobody can guess another's."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from redis.asyncio import Redis

from bridge import keys


class SessionTokens:
    def __init__(self, secret: str) -> None:
        self._key = secret.encode()

    def issue(self, conversation_id: str) -> str:
        return f"{conversation_id}.{self._signature(conversation_id)}"

    def verify(self, token: object) -> str | None:
        """The conversation id the token grants, or None for anything not signed by us."""
        if not isinstance(token, str) or token.count(".") != 1 or len(token) > 256:
            return None
        conversation_id, signature = token.split(".")
        # As bytes: compare_digest refuses str with non-ASCII characters (any client can send).
        if not hmac.compare_digest(signature.encode(), self._signature(conversation_id).encode()):
            return None
        return conversation_id

    def _signature(self, conversation_id: str) -> str:
        digest = hmac.new(self._key, conversation_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


async def shared_secret(redis: Redis) -> str:
    """The signing key when none is configured: every replica must sign and verify with the
    same one, so the first to start makes it and keeps it in Redis."""
    await redis.set(keys.WIDGET_SECRET, secrets.token_urlsafe(32), nx=True)
    return str(await redis.get(keys.WIDGET_SECRET))
