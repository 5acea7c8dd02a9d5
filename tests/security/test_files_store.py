"""Files cannot fill the bridge's Redis: uploads no message names are deleted within minutes,
all files together are capped, and Redis itself runs with a memory cap that never evicts.

Against a Redis started the way the dev stack starts it (deploy/redis.conf), and a real
bridge process for what a customer sees; no Rasa is needed (nothing here is answered).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from bridge import keys
from bridge.models import Attachment
from bridge.store.files import FileMeta, Files, FilesConfig, FilesFull
from devstack.processes import BRIDGE_PYTHON, Service, free_port, http_ok
from devstack.stack import (
    LOCAL_SHOP_IDENTITY_SECRET,
    LOCAL_SLACK,
    ONE_ADDRESS_FOR_MANY_CUSTOMERS,
    Stack,
)
from tests.desk.helpers import WidgetCustomer
from tests.ops.conftest import scrape, value
from tests.support import eventually

UNATTACHED_TTL_S = 5
BRIDGE_DB, STORE_DB = 0, 1


@pytest.fixture(scope="module")
def dev_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The dev stack's own Redis (Stack._redis, as the test suites run it), alone."""
    stack = Stack(tmp_path_factory.mktemp("files-stack"))
    redis = stack.services["redis"]
    redis.start()
    try:
        yield stack
    finally:
        redis.stop()


def _url(stack: Stack, db: int) -> str:
    return stack.redis_url.rsplit("/", 1)[0] + f"/{db}"


@pytest.fixture(scope="module")
def bridge(dev_redis: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real bridge on that Redis that keeps unattached uploads UNATTACHED_TTL_S seconds."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    nowhere = f"http://127.0.0.1:{free_port()}"  # Rasa and Slack: never called here
    service = Service(
        "bridge-files",
        [str(BRIDGE_PYTHON), "-m", "bridge"],
        tmp_path_factory.mktemp("files-bridge"),
        env={
            "REDIS_URL": _url(dev_redis, BRIDGE_DB),
            "RASA_URL": nowhere,
            "BRIDGE_PORT": str(port),
            "BRIDGE_PUBLIC_URL": url,
            "BRIDGE_INSTANCE": "files-bridge",
            "BRIDGE_ENV_FILE": os.devnull,
            "SHOP_IDENTITY_SECRET": LOCAL_SHOP_IDENTITY_SECRET,
            **LOCAL_SLACK,
            "SLACK_API_URL": f"{nowhere}/api/",
            **ONE_ADDRESS_FOR_MANY_CUSTOMERS,
            "FILES_UNATTACHED_TTL_S": str(UNATTACHED_TTL_S),
            "FILES_MAX_MB": "64",
        },
        ready=lambda: http_ok(f"{url}/healthz"),
    )
    service.start()
    try:
        yield url
    finally:
        service.stop()


@pytest.fixture
async def redis(dev_redis: Stack) -> AsyncIterator[Redis]:
    client = Redis.from_url(_url(dev_redis, STORE_DB), decode_responses=True)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


def _file(size: int, name: str = "photo.jpg") -> Attachment:
    return Attachment(os.urandom(size), name, "image/jpeg")


async def _download(bridge_url: str, file_id: str) -> tuple[int, bytes]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{bridge_url}/widget/files/{file_id}/note.txt") as response,
    ):
        return response.status, await response.read()


# --- what Redis is configured to do -------------------------------------------------------


async def test_the_dev_stack_redis_has_a_memory_cap_and_never_evicts(dev_redis: Stack) -> None:
    client = Redis.from_url(dev_redis.redis_url, decode_responses=True)
    try:
        config = await client.config_get("maxmemory*")
        info = await client.info("memory")
    finally:
        await client.aclose()
    assert int(config["maxmemory"]) > 0
    assert int(info["maxmemory"]) == int(config["maxmemory"])
    assert config["maxmemory-policy"] == "noeviction"


async def test_the_persistent_dev_redis_has_the_same_cap_and_an_append_only_file(
    tmp_path: Path,
) -> None:
    stack = Stack(tmp_path, redis_persistent=True)
    service = stack.services["redis"]
    service.start()
    client = Redis.from_url(stack.redis_url, decode_responses=True)
    try:
        config = await client.config_get("*")
    finally:
        await client.aclose()
        service.stop()
    assert int(config["maxmemory"]) > 0
    assert config["maxmemory-policy"] == "noeviction"
    assert config["appendonly"] == "yes"
    assert config["appendfsync"] == "everysec"
    assert Path(config["dir"]) == tmp_path / "redis"


# --- what a customer and the operator see ---------------------------------------------------


async def test_an_upload_no_message_names_is_gone_after_the_unattached_ttl(bridge: str) -> None:
    body = os.urandom(50_000)
    async with WidgetCustomer(bridge) as customer, aiohttp.ClientSession() as http:
        async with http.post(
            f"{bridge}/widget/upload?name=note.txt",
            data=body,
            headers={"Authorization": f"Bearer {customer.token}"},
        ) as response:
            assert response.status == 200, await response.text()
            file_id = (await response.json())["file_id"]
    # Usable at first...
    assert await _download(bridge, file_id) == (200, body)
    samples = await eventually(
        lambda: scrape(bridge),
        lambda s: value(s, "bridge_files_bytes") >= len(body),
        what="the upload counted in bridge_files_bytes",
    )
    assert value(samples, "bridge_files_max_bytes") == 64 * 1024 * 1024
    assert value(samples, "bridge_redis_maxmemory_bytes") > 0
    assert value(samples, "bridge_redis_used_memory_bytes") > 0
    # ...then, never named by a message, deleted after FILES_UNATTACHED_TTL_S, and no longer
    # counted.
    status, _ = await eventually(
        lambda: _download(bridge, file_id),
        lambda found: found[0] == 404,
        timeout_s=UNATTACHED_TTL_S + 10,
        what="the unattached upload to be deleted",
    )
    assert status == 404
    await eventually(
        lambda: scrape(bridge),
        lambda s: value(s, "bridge_files_bytes") == 0,
        what="bridge_files_bytes back to 0",
    )


# --- the store: the cap, expiry and the directory backend ----------------------------------


async def test_put_beyond_the_cap_raises_files_full_and_a_delete_makes_room(
    redis: Redis,
) -> None:
    files = Files(redis, FilesConfig(max_bytes=25_000))
    first = await files.put(_file(10_000))
    await files.put(_file(10_000))
    assert await files.held_bytes() == 20_000
    with pytest.raises(FilesFull):
        await files.put(_file(10_000))
    # Nothing of the refused file was kept, and it took none of the room.
    assert await files.held_bytes() == 20_000
    assert await files.delete(first)
    assert await files.get(first) is None and await files.meta(first) is None
    assert await files.held_bytes() == 10_000
    third = await files.put(_file(10_000, "third.jpg"))
    found = await files.get(third)
    assert found is not None and found.name == "third.jpg"


async def test_expired_files_give_their_bytes_back(redis: Redis) -> None:
    files = Files(redis, FilesConfig(max_bytes=25_000, unattached_ttl_s=1))
    upload = await files.put(_file(20_000), owner="web-conversation")
    kept = await files.put(_file(1_000))  # sent with a message: the normal retention
    with pytest.raises(FilesFull):
        await files.put(_file(10_000))
    await eventually(lambda: files.meta(upload), lambda m: m is None, what="the upload to expire")
    # The put that needs the room gets it: the expired upload no longer counts.
    await files.put(_file(10_000))
    assert await files.held_bytes() == 11_000
    assert await files.meta(kept) is not None


async def test_attach_keeps_an_upload_the_normal_retention(redis: Redis) -> None:
    files = Files(redis, FilesConfig(unattached_ttl_s=1))
    named = await files.put(_file(1_000), owner="web-conversation")
    ignored = await files.put(_file(1_000), owner="web-conversation")
    await files.attach(named)
    await eventually(lambda: files.meta(ignored), lambda m: m is None, what="the other upload")
    meta = await files.meta(named)
    assert meta is not None and meta.owner == "web-conversation"
    assert await redis.ttl(keys.attachment(named)) > keys.ATTACHMENT_TTL_S - 60
    assert await files.held_bytes() == 1_000


async def test_the_directory_backend_keeps_contents_on_disk_and_frees_them(
    redis: Redis, tmp_path: Path
) -> None:
    directory = tmp_path / "files"
    files = Files(redis, FilesConfig(directory=str(directory), unattached_ttl_s=1))
    photo = _file(30_000, "receipt.jpg")
    file_id = await files.put(photo)
    on_disk = directory / file_id
    assert on_disk.read_bytes() == photo.data
    assert await redis.hget(keys.attachment(file_id), "data") is None  # not in Redis
    assert await files.get(file_id) == photo
    assert await files.meta(file_id) == FileMeta("receipt.jpg", "image/jpeg", "")
    # A replica with its own Files object on the same directory serves it too.
    assert await Files(redis, FilesConfig(directory=str(directory))).get(file_id) == photo

    assert await files.delete(file_id)
    assert not on_disk.exists()
    assert await files.get(file_id) is None

    upload = await files.put(_file(5_000), owner="web-conversation")
    assert (directory / upload).exists()

    async def still_on_disk() -> bool:
        await files.held_bytes()  # what the bridge's upkeep runs every few seconds
        return (directory / upload).exists()

    await eventually(still_on_disk, lambda exists: not exists, what="the expired upload's file")
    assert await files.get(upload) is None
    assert await files.held_bytes() == 0
    assert sorted(p.name for p in directory.iterdir()) == []
