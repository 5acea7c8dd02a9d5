"""Rename a standalone (or Sentinel) bridge Redis's keys to the hash-tagged names (bridge/keys.py,
docs/scaling.md "Cluster"): run it once when upgrading, with every bridge replica stopped.

    .venvs/bridge/bin/python -m tools.migrate_keys --redis-url redis://...        # the plan
    .venvs/bridge/bin/python -m tools.migrate_keys --redis-url redis://... --apply

Without --apply nothing is written: it prints what it would rename. It is idempotent: a key
already under its new name is left alone, so a run that was interrupted can be run again.
Renames happen one key at a time (RENAME keeps a stream's consumer groups and pending entries,
and every key's expiry). Indexes now kept one per partition (the unclaimed handoffs, the
activity index) are split member by member, then the old index is deleted.

Not renamed, on purpose: customer quotas and abuse-limit buckets under their old names (they
expire within minutes; the new buckets start empty), and once keys (`bridge:seen:…`) that name
no stored conversation (a Telegram update id): platforms redeliver only what the bridge had not
answered, so none of those is needed once the bridge was stopped.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import redis

from bridge import keys
from bridge.redis_pool import is_cluster_url

OLD_CONVERSATION = re.compile(r"bridge:conv:(?P<id>[^:]+)(?P<rest>(:[a-z]+)?)")
OLD_PARTITION = re.compile(r"bridge:out:(?P<platform>slack|telegram):(?P<kind>[pg])(?P<n>\d+)")
OLD_RELAYED = re.compile(r"bridge:slack:relayed:(?P<channel>[^:]+):(?P<ts>.+)")
OLD_SPIKE_ALERTED = re.compile(r"bridge:learn:spike:(?P<topic>.+):alerted")
OLD_SPIKE_EVENTS = re.compile(r"bridge:learn:spike:(?P<topic>(intent|text):.+)")
OLD_FILE = re.compile(r"bridge:file:(?P<id>[^{:][^:]*)")
OLD_LIMIT = re.compile(r"bridge:limit:(?P<rest>[^{].*)")
OLD_SEEN = re.compile(r"bridge:seen:(?P<source>[^:]+):(?P<event>.+)")

RENAMED_CONSTANTS = {
    "bridge:files:index": keys.FILES_INDEX,
    "bridge:files:sizes": keys.FILES_SIZES,
    "bridge:files:bytes": keys.FILES_BYTES,
    "bridge:learn:spike:topics": keys.SPIKE_TOPICS,
    "bridge:learn:spike-volume": keys.SPIKE_VOLUME,
}
SPLIT_INDEXES = {"bridge:desk:unclaimed": keys.unclaimed, "bridge:ops:activity": keys.activity}
_CONVERSATION_SUFFIXES = {"", ":log", ":threads", ":edits", ":turns", ":marks", ":offered"}


@dataclass(frozen=True)
class Rename:
    old: str
    new: str


def _conversation_of(client: Any, parts: list[str], known: set[str]) -> str:
    """The id of a stored conversation named by one of `parts`, or ''."""
    for part in parts:
        if part in known:
            return part
    return ""


def plan(client: Any) -> Iterator[Rename]:
    """Every rename the data needs (without the split indexes)."""
    conversations: set[str] = set()
    for key in client.scan_iter(match="bridge:conv:*", count=1000):
        found = OLD_CONVERSATION.fullmatch(key)
        if found and found.group("rest") in _CONVERSATION_SUFFIXES:
            conversation_id = found.group("id")
            conversations.add(conversation_id)
            yield Rename(key, keys.conversation(conversation_id) + found.group("rest"))
    for key in client.scan_iter(match="bridge:out:*", count=1000):
        found = OLD_PARTITION.fullmatch(key)
        if found:
            platform = keys.PREFIX + "out:" + found.group("platform")
            make = keys.outbox_partition if found.group("kind") == "p" else keys.guest_partition
            yield Rename(key, make(platform, int(found.group("n"))))
    for key in client.scan_iter(match="bridge:slack:relayed:*", count=1000):
        found = OLD_RELAYED.fullmatch(key)
        conversation_id = client.hget(key, "conversation")
        if found and conversation_id:
            yield Rename(key, keys.relayed(conversation_id, found.group("channel"), found["ts"]))
    for old, new in RENAMED_CONSTANTS.items():
        if client.exists(old):
            yield Rename(old, new)
    for key in client.scan_iter(match="bridge:learn:spike:*", count=1000):
        if "{" in key or key == "bridge:learn:spike:topics":
            continue
        alerted = OLD_SPIKE_ALERTED.fullmatch(key)
        events = OLD_SPIKE_EVENTS.fullmatch(key)
        if alerted:
            yield Rename(key, keys.spike_alerted(alerted.group("topic")))
        elif events:
            yield Rename(key, keys.spike_events(events.group("topic")))
    for key in client.scan_iter(match="bridge:file:*", count=1000):
        found = OLD_FILE.fullmatch(key)
        if found:
            yield Rename(key, keys.attachment(found.group("id")))
    for key in client.scan_iter(match="bridge:limit:*", count=1000):
        found = OLD_LIMIT.fullmatch(key)
        if found:
            name, _, subject = found.group("rest").partition(":")
            yield Rename(key, keys.limit(name, subject))
    for key in client.scan_iter(match="bridge:seen:*", count=1000):
        found = OLD_SEEN.fullmatch(key)
        if not found:
            continue
        conversation_id = _conversation_of(client, key.split(":"), conversations)
        if conversation_id:
            yield Rename(key, keys.seen(found["source"], found["event"], conversation_id))


def migrate(client: Any, apply: bool, out: Any = sys.stdout) -> tuple[int, int]:
    """Print (and with `apply`, carry out) the renames; answers (renamed, skipped)."""
    renamed = skipped = 0
    for step in list(plan(client)):
        if step.old == step.new:
            continue
        if client.exists(step.new):
            print(f"skip {step.old}: {step.new} exists already", file=out)
            skipped += 1
            continue
        print(f"rename {step.old} -> {step.new}", file=out)
        if apply:
            client.rename(step.old, step.new)
        renamed += 1
    for old, shard_of in SPLIT_INDEXES.items():
        members = client.zrange(old, 0, -1, withscores=True)
        if not members:
            continue
        print(f"split {old} ({len(members)} members) into one index per partition", file=out)
        if apply:
            with client.pipeline(transaction=True) as pipe:
                for member, score in members:
                    pipe.zadd(shard_of(member), {member: score})
                pipe.delete(old)
                pipe.execute()
        renamed += 1
    return renamed, skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument("--apply", action="store_true", help="rename (default: only print)")
    options = parser.parse_args(argv)
    if not options.redis_url:
        parser.error("--redis-url (or REDIS_URL) is required")
    if is_cluster_url(options.redis_url):
        parser.error(
            "a Cluster holds no keys of the old names (the bridge ran on Cluster only with "
            "the tagged names); migrate the standalone Redis, then move the data"
        )
    client = redis.Redis.from_url(options.redis_url, decode_responses=True)
    renamed, skipped = migrate(client, options.apply)
    verb = "renamed" if options.apply else "to rename (dry run: --apply to carry it out)"
    print(f"{renamed} {verb}; {skipped} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
