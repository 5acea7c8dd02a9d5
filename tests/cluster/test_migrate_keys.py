"""tools/migrate_keys.py on a standalone Redis holding keys of the names before the hash tags."""

from __future__ import annotations

import io
from pathlib import Path

import redis

from bridge import keys
from devstack.stack import scratch_redis
from tools.migrate_keys import migrate


def test_old_names_are_renamed_once_and_a_dry_run_writes_nothing(tmp_path: Path) -> None:
    with scratch_redis("redis-migrate", tmp_path) as url:
        client = redis.Redis.from_url(url, decode_responses=True)
        conversation_id = "tg-77"
        client.hset("bridge:conv:tg-77", mapping={"channel": "telegram", "mode": "human"})
        client.xadd("bridge:conv:tg-77:log", {"role": "customer", "text": "hi"})
        client.rpush("bridge:conv:tg-77:threads", "1.1")
        old_stream = f"bridge:out:telegram:p{keys.partition_of(conversation_id)}"
        client.xadd(old_stream, {"kind": "send"})
        client.xgroup_create(old_stream, keys.SENDER_GROUP, id="0")
        client.xreadgroup(keys.SENDER_GROUP, "c", {old_stream: ">"})  # one pending entry
        client.hset("bridge:slack:relayed:C0STAFF:1.2", mapping={"conversation": conversation_id})
        client.zadd("bridge:desk:unclaimed", {conversation_id: 5})
        client.zadd("bridge:ops:activity", {conversation_id: 6, "w-gabc": 7})
        client.set("bridge:seen:desk:late:tg-77:1", "1", ex=100)
        client.set("bridge:seen:telegram:99", "1-0", ex=100)
        client.set("bridge:learn:spike:intent:refund:alerted", "1", ex=100)
        client.zadd("bridge:learn:spike:intent:refund", {"e": 1})
        client.sadd("bridge:learn:spike:topics", "intent:refund")
        client.hset("bridge:file:f1", mapping={"name": "a.txt"})
        client.zadd("bridge:files:index", {"f1": 1})
        before = sorted(client.keys("*"))

        renamed, skipped = migrate(client, apply=False, out=io.StringIO())
        assert renamed > 0 and skipped == 0
        assert sorted(client.keys("*")) == before, "a dry run writes nothing"

        migrate(client, apply=True, out=io.StringIO())
        assert client.hget(keys.conversation(conversation_id), "mode") == "human"
        assert client.xlen(keys.transcript(conversation_id)) == 1
        assert client.lrange(keys.earlier_threads(conversation_id), 0, -1) == ["1.1"]
        stream = keys.telegram_outbox(conversation_id)
        assert client.xpending(stream, keys.SENDER_GROUP)["pending"] == 1
        assert client.hget(keys.relayed(conversation_id, "C0STAFF", "1.2"), "conversation")
        assert client.zscore(keys.unclaimed(conversation_id), conversation_id) == 5
        assert client.zscore(keys.activity("w-gabc"), "w-gabc") == 7
        assert not client.exists("bridge:desk:unclaimed", "bridge:ops:activity")
        assert client.ttl(keys.seen("desk", "late:tg-77:1", conversation_id)) > 0
        assert client.exists("bridge:seen:telegram:99")  # names no conversation: left
        assert client.exists(keys.spike_alerted("intent:refund"))
        assert client.exists(keys.spike_events("intent:refund"), keys.SPIKE_TOPICS) == 2
        assert client.exists(keys.attachment("f1"), keys.FILES_INDEX) == 2
        assert not client.keys("bridge:conv:*")

        after = sorted(client.keys("*"))
        assert migrate(client, apply=True, out=io.StringIO()) == (0, 0), "idempotent"
        assert sorted(client.keys("*")) == after
        client.close()
