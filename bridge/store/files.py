"""Photos and files sent in a conversation, kept for delivery and for history.

Redis always keeps each file's metadata (`keys.attachment`, with the file's TTL) and the index
of what is held (`keys.FILES_INDEX`, `FILES_SIZES`, `FILES_BYTES`); the contents are kept by a
`FileContents` backend: in the same Redis hash (`RedisContents`, the default) or in a directory
every replica sees (`DirectoryContents`, setting FILES_DIRECTORY). An S3-compatible object store
would be a third backend of the same four methods.

Retention: a file sent with a message is kept `keys.ATTACHMENT_TTL_S`; a widget upload (which
has an `owner`) only `unattached_ttl_s` until a message names it (`attach`). The total of all
files is capped (`max_bytes`): `put` beyond it raises `FilesFull`. Expired entries leave the
index, and their bytes the total, in the script that admits the next file (and in `held_bytes`,
which the store's upkeep runs every few seconds), so the total never counts expired files;
each of those sets the gauge `bridge_files_bytes`.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from redis.asyncio import Redis

from bridge import keys
from bridge.models import Attachment
from bridge.observability import metrics


@dataclass(frozen=True)
class FileMeta:
    name: str
    type: str
    owner: str  # the conversation that uploaded it separately ("" when sent with a message)


class FilesFull(Exception):
    """The files held have reached their cap (FILES_MAX_MB); nothing was stored."""

    def __init__(self, held: int, size: int, max_bytes: int) -> None:
        super().__init__(
            f"files are full: {held} of {max_bytes} bytes held, a file of {size} bytes refused"
        )
        self.held, self.size, self.max_bytes = held, size, max_bytes


class FilesSettings(Protocol):
    """What `FilesConfig.from_settings` reads (bridge/settings.py: Settings has them)."""

    @property
    def files_max_mb(self) -> int: ...
    @property
    def files_unattached_ttl_s(self) -> int: ...
    @property
    def files_directory(self) -> str: ...


@dataclass(frozen=True)
class FilesConfig:
    max_bytes: int = 512 * 1024 * 1024  # the cap on all files together; 0: none
    unattached_ttl_s: int = 600  # a widget upload no message names is deleted after this
    directory: str = ""  # keep contents in this directory; "": in Redis

    @classmethod
    def from_settings(cls, settings: FilesSettings) -> FilesConfig:
        return cls(
            max_bytes=max(settings.files_max_mb, 0) * 1024 * 1024,
            unattached_ttl_s=settings.files_unattached_ttl_s,
            directory=settings.files_directory,
        )


# --- where the contents live ---------------------------------------------------------------


class FileContents(ABC):
    """Keeps the bytes of files; `Files` keeps their metadata, expiry and total in Redis."""

    @abstractmethod
    def inline(self, data: bytes) -> dict[str, str]:
        """Fields to keep in the file's Redis hash itself (written with its metadata)."""

    @abstractmethod
    async def write(self, file_id: str, data: bytes) -> None:
        """Keep the contents; called once the file's entry is recorded."""

    @abstractmethod
    async def read(self, file_id: str, fields: Mapping[str, str]) -> bytes | None:
        """The contents (`fields`: the file's Redis hash), or None when they are gone."""

    @abstractmethod
    async def delete(self, file_ids: Sequence[str]) -> None:
        """Free the contents of files that expired or were deleted (missing ones are fine)."""


class RedisContents(FileContents):
    """Base64 in the file's Redis hash, so Redis's TTL frees the contents by itself."""

    def inline(self, data: bytes) -> dict[str, str]:
        return {"data": base64.b64encode(data).decode()}  # the client decodes replies as text

    async def write(self, file_id: str, data: bytes) -> None:
        return None

    async def read(self, file_id: str, fields: Mapping[str, str]) -> bytes | None:
        data = fields.get("data")
        return base64.b64decode(data) if data is not None else None

    async def delete(self, file_ids: Sequence[str]) -> None:
        return None  # the hash holding them is deleted, or expires, with the metadata


_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class DirectoryContents(FileContents):
    """One file per id in a directory (shared by every replica: a network volume)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.root = Path(directory)
        self.root.mkdir(parents=True, exist_ok=True)  # fails at start when it cannot exist

    def path(self, file_id: str) -> Path | None:
        return self.root / file_id if _SAFE_ID.match(file_id) else None

    def inline(self, data: bytes) -> dict[str, str]:
        return {}

    async def write(self, file_id: str, data: bytes) -> None:
        path = self.path(file_id)
        if path is None:
            raise ValueError(f"not a file id: {file_id!r}")
        await asyncio.to_thread(_write_whole, path, data)

    async def read(self, file_id: str, fields: Mapping[str, str]) -> bytes | None:
        path = self.path(file_id)
        if path is None:
            return None
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, file_ids: Sequence[str]) -> None:
        paths = [p for p in map(self.path, file_ids) if p is not None]
        if paths:
            await asyncio.to_thread(_unlink_all, paths)


def _write_whole(path: Path, data: bytes) -> None:
    # Written aside, then renamed: a reader on any replica sees all of it or nothing.
    part = path.with_name(f".{path.name}.part")
    part.write_bytes(data)
    os.replace(part, path)


def _unlink_all(paths: Sequence[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


# --- the index ----------------------------------------------------------------------------

# Lua: take the expired entries out of the index and their bytes out of the total. Sets `now`
# (Redis's clock, ms), `gone` (their ids) and `held` (the bytes the files left hold).
# KEYS[1] index, KEYS[2] sizes, KEYS[3] total.
_PRUNE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local gone, freed = {}, 0
while true do
  local batch = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 500)
  if #batch == 0 then break end
  local sizes = redis.call('HMGET', KEYS[2], unpack(batch))
  for i, id in ipairs(batch) do
    freed = freed + (tonumber(sizes[i]) or 0)
    gone[#gone + 1] = id
  end
  redis.call('ZREM', KEYS[1], unpack(batch))
  redis.call('HDEL', KEYS[2], unpack(batch))
end
local stored = tonumber(redis.call('GET', KEYS[3]) or '0')
local held = stored - freed
if held < 0 or redis.call('ZCARD', KEYS[1]) == 0 then held = 0 end
if held ~= stored then redis.call('SET', KEYS[3], held) end
"""

# KEYS[4]: the file's hash. ARGV: id, size, TTL (ms), cap (0: none), then field, value pairs.
# Answers {1 admitted or 0 full, bytes held, {expired ids}}.
_PUT = (
    _PRUNE
    + """
local size, ttl, cap = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if cap > 0 and held + size > cap then
  return {0, held, gone}
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], size)
redis.call('SET', KEYS[3], held + size)
redis.call('HSET', KEYS[4], unpack(ARGV, 5))
redis.call('PEXPIRE', KEYS[4], ttl)
return {1, held + size, gone}
"""
)

# Answers {bytes held, {expired ids}}.
_HELD = _PRUNE + "\nreturn {held, gone}\n"

# KEYS[1] index, KEYS[2] the file's hash; ARGV: id, TTL (ms). Answers 1, or 0 when it is gone.
_ATTACH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local expires = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or '0')
if expires <= now or redis.call('PEXPIRE', KEYS[2], ttl) == 0 then return 0 end
redis.call('ZADD', KEYS[1], 'XX', 'GT', now + ttl, ARGV[1])
return 1
"""

# KEYS[1] index, KEYS[2] sizes, KEYS[3] total, KEYS[4] the file's hash; ARGV: id. Answers
# {1 if it was there, bytes held}.
_DELETE = """
local indexed = redis.call('ZREM', KEYS[1], ARGV[1])
local size = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
redis.call('HDEL', KEYS[2], ARGV[1])
local held = tonumber(redis.call('GET', KEYS[3]) or '0')
if indexed == 1 and size > 0 then
  held = math.max(held - size, 0)
  redis.call('SET', KEYS[3], held)
end
return {math.max(indexed, redis.call('DEL', KEYS[4])), held}
"""

_INDEX = [keys.FILES_INDEX, keys.FILES_SIZES, keys.FILES_BYTES]


class Files:
    def __init__(
        self,
        redis: Redis,
        config: FilesConfig | None = None,
        contents: FileContents | None = None,
    ) -> None:
        self._redis = redis
        self.config = config or FilesConfig()
        if contents is None:
            directory = self.config.directory
            contents = DirectoryContents(directory) if directory else RedisContents()
        self.contents = contents
        self._put = redis.register_script(_PUT)
        self._held = redis.register_script(_HELD)
        self._attach = redis.register_script(_ATTACH)
        self._delete = redis.register_script(_DELETE)

    @property
    def max_bytes(self) -> int:
        return self.config.max_bytes

    async def put(self, attachment: Attachment, owner: str = "") -> str:
        """Keep a photo or file; returns its unguessable id. Raises `FilesFull` when it would
        take the files held beyond their cap.

        `owner`: the conversation that uploaded it, when a customer sends it separately (the
        widget's upload): it is then kept only `unattached_ttl_s`, unless a message names it
        (`attach`). A file sent with a message (no owner) is kept the normal retention.
        """
        file_id = secrets.token_urlsafe(18)
        short = self.config.unattached_ttl_s
        ttl_s = short if owner and short > 0 else keys.ATTACHMENT_TTL_S
        size = len(attachment.data)
        fields: dict[str, Any] = {
            "name": attachment.name,
            "type": attachment.type,
            "owner": owner,
            "size": size,
            **self.contents.inline(attachment.data),
        }
        pairs = [item for field in fields.items() for item in field]
        reply: Any = await self._put(
            keys=[*_INDEX, keys.attachment(file_id)],
            args=[file_id, size, ttl_s * 1000, max(self.config.max_bytes, 0), *pairs],
        )
        admitted, held, expired = reply
        metrics.files_held(int(held), self.config.max_bytes)
        if expired:
            await self.contents.delete([str(e) for e in expired])
        if not int(admitted):
            raise FilesFull(int(held), size, self.config.max_bytes)
        try:
            await self.contents.write(file_id, attachment.data)
        except BaseException:
            await self.delete(file_id)
            raise
        return file_id

    async def attach(self, file_id: str) -> None:
        """A message names this file: keep it the normal retention (keys.ATTACHMENT_TTL_S)
        from now on. Nothing happens for a file that has already gone."""
        await self._attach(
            keys=[keys.FILES_INDEX, keys.attachment(file_id)],
            args=[file_id, keys.ATTACHMENT_TTL_S * 1000],
        )

    async def delete(self, file_id: str) -> bool:
        """Delete a file now, contents and all; False if there was none."""
        reply: Any = await self._delete(keys=[*_INDEX, keys.attachment(file_id)], args=[file_id])
        found, held = reply
        metrics.files_held(int(held), self.config.max_bytes)
        await self.contents.delete([file_id])
        return bool(int(found))

    async def held_bytes(self) -> int:
        """The bytes the files held take, after deleting the contents of those that expired."""
        reply: Any = await self._held(keys=_INDEX, args=[])
        held, expired = reply
        metrics.files_held(int(held), self.config.max_bytes)
        if expired:
            await self.contents.delete([str(e) for e in expired])
        return int(held)

    async def meta(self, file_id: str) -> FileMeta | None:
        """Name, type and owner of a stored file, without its contents."""
        found: Any = await self._redis.hmget(keys.attachment(file_id), ["name", "type", "owner"])
        name, kind, owner = found
        if name is None:
            return None
        return FileMeta(str(name), str(kind), str(owner or ""))

    async def get(self, file_id: str) -> Attachment | None:
        found: Any = await self._redis.hgetall(keys.attachment(file_id))
        if not found or "name" not in found:
            return None
        if "data" in found:  # kept in Redis (also files stored before a directory was set)
            data = await RedisContents().read(file_id, found)
        else:
            data = await self.contents.read(file_id, found)
        if data is None:
            return None
        return Attachment(data, found["name"], found["type"])
