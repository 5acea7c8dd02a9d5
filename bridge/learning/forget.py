"""`make forget CUSTOMER=…`: delete everything kept about one customer, and say what.

This module erases what Redis and the review files hold (docs/learning.md, "Retention and
erasure"); tools/forget.py runs it, after the customer's Slack posts when asked to delete
those too (they are found through the thread maps deleted here).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bridge import keys
from bridge.learning import spikes
from bridge.models import WIDGET_PREFIX, Channel
from bridge.outbox import retention
from bridge.platforms.telegram.chats import conversation_id as telegram_conversation
from bridge.platforms.widget.sessions import revoke as revoke_sessions
from bridge.store import dedupe
from bridge.store.files import Files

_CHAT_ID = re.compile(r"^-?\d+$")
# What a forgotten conversation's identity-token claims hold instead of its id: the token stays
# refused to every other session until it expires, and the claim names no one.
FORGOTTEN = "-"


async def resolve(redis: Redis, customer: str) -> str:
    """A conversation id, or a Telegram chat id (its conversation is `tg-<chat id>`)."""
    if _CHAT_ID.match(customer) and not await redis.exists(keys.conversation(customer)):
        return telegram_conversation(customer)
    return customer


async def threads_of(redis: Redis, conversation_id: str) -> list[str]:
    """The ts of the conversation's staff threads, oldest first (its earlier ones, then the
    current one)."""
    current: Any = await redis.hget(keys.conversation(conversation_id), "thread_ts")
    earlier: Any = await redis.lrange(keys.earlier_threads(conversation_id), 0, -1)
    threads = [str(t) for t in [*earlier, current] if t]
    # And any thread map naming it that its record no longer lists.
    for key in await _holding(redis, keys.slack_thread("*", "*"), conversation_id):
        threads.append(key.rsplit(":", 1)[-1])
    return list(dict.fromkeys(threads))


async def _holding(redis: Redis, pattern: str, value: str) -> list[str]:
    """The string keys matching `pattern` whose value is `value`."""
    found: list[str] = []
    batch: list[str] = []

    async def check() -> None:
        # One GET per key (a pipeline): on Cluster the keys are in many slots, MGET wants one.
        async with redis.pipeline(transaction=False) as pipe:
            for key in batch:
                pipe.get(key)
            values: Any = await pipe.execute()
        found.extend(key for key, held in zip(batch, values, strict=True) if held == value)
        batch.clear()

    async for key in redis.scan_iter(match=pattern, count=1000):
        batch.append(str(key))
        if len(batch) >= 500:
            await check()
    if batch:
        await check()
    return found


def mentions(text: str, conversation_id: str) -> bool:
    """Whether `text` names the conversation (its id as a word of its own)."""
    return re.search(_word(conversation_id), text) is not None


async def stop_deliveries(redis: Redis, conversation_id: str) -> list[str]:
    """Delete the conversation's queued jobs and dead letters (so no sender posts them while
    the rest goes); says what went."""
    erased = await retention.erase(redis, conversation_id)
    return [f"deleted {count} queued jobs from {stream}" for stream, count in erased.items()]


async def forget(
    redis: Redis,
    conversation_id: str,
    staff_channel: str,
    rasa_redis: Redis | None = None,
    files: Files | None = None,
    done: list[str] | None = None,
) -> list[str]:
    """Delete the conversation's data everywhere the bridge keeps it in Redis; returns what
    went (appended to `done` as it goes, so a caller stopped by an error can say what had gone
    by then; running it again finishes the job). `files`: the file store as configured (its
    directory, if any); by default, Redis's."""
    if not conversation_id:
        raise ValueError("no conversation to forget")
    files = files or Files(redis)
    done = [] if done is None else done
    info: Any = await redis.hgetall(keys.conversation(conversation_id))
    threads = await threads_of(redis, conversation_id)
    file_ids, entry_ids = set(), set()
    entries: Any = await redis.xrange(keys.transcript(conversation_id))
    for entry_id, fields in entries:
        entry_ids.add(str(entry_id))
        if fields.get("file"):
            file_ids.add(fields["file"])

    done += await stop_deliveries(redis, conversation_id)  # first: nothing more is posted
    for key in keys.conversation_keys(conversation_id):
        if await redis.delete(key):
            done.append(f"deleted {key}")
    maps = {keys.slack_thread(staff_channel, ts) for ts in threads}
    maps |= set(await _holding(redis, keys.slack_thread("*", "*"), conversation_id))
    for key in sorted(maps):
        if await redis.delete(key):
            done.append(f"deleted {key}")
    if customer := info.get("customer_id"):
        # The signed-in customer's index across channels: this conversation and its threads.
        if await redis.srem(keys.customer_conversations(customer), conversation_id):
            done.append(f"removed it from {keys.customer_conversations(customer)}")
        for ts in threads:
            await redis.lrem(keys.customer_threads(customer), 0, ts)
    for file_id in sorted(file_ids):
        if await files.delete(file_id):
            done.append(f"deleted {keys.attachment(file_id)}")
    async for key in redis.scan_iter(match=keys.RELAYED_PATTERN, count=1000):
        if await redis.hget(key, "conversation") == conversation_id and await redis.delete(key):
            done.append(f"deleted {key}")
    # De-duplication markers: those naming it, and those holding one of its lines.
    if markers := await dedupe.forget_markers(redis, conversation_id, entry_ids):
        done.append(f"deleted {markers} de-duplication markers")
    done += await _keys_naming(redis, conversation_id, info)
    for key in await _holding(redis, keys.identity_token("*"), conversation_id):
        await redis.set(key, FORGOTTEN, xx=True, keepttl=True)
        done.append(f"cleared {key}")
    for index in (keys.REVIEW, keys.unclaimed(conversation_id), keys.activity(conversation_id)):
        if await redis.zrem(index, conversation_id):
            done.append(f"removed it from {index}")
    if removed := await spikes.forget_conversation(redis, conversation_id):
        done.append(f"removed {removed} topic-spike examples")
    if rasa_redis is not None and await rasa_redis.delete(keys.rasa_tracker(conversation_id)):
        done.append(f"deleted Rasa tracker {keys.rasa_tracker(conversation_id)}")
    if done and conversation_id.startswith(WIDGET_PREFIX):
        # A widget still holding a session token of it starts afresh instead of continuing.
        await revoke_sessions(redis, conversation_id)
        done.append("revoked its widget sessions")
    return done


async def _keys_naming(redis: Redis, conversation_id: str, info: dict[str, str]) -> list[str]:
    """Any other key named after the conversation (its abuse limits and quota, and whatever
    a later kind of key keeps for it), and its chat's pacing slot and quota."""
    doomed: set[str] = set()
    async for key in redis.scan_iter(match=f"{keys.PREFIX}*{_glob(conversation_id)}*", count=1000):
        if conversation_id in str(key).split(":"):
            doomed.add(str(key))
    external = info.get("external_id") or ""
    if conversation_id.startswith("tg-"):
        external = external or conversation_id.removeprefix("tg-")
        doomed.add(keys.telegram_chat_slot(external))
    if external:
        channel = info.get("channel") or str(Channel.TELEGRAM)
        doomed.add(keys.customer_quota(channel, external, conversation_id))
    return [f"deleted {key}" for key in sorted(doomed) if await redis.delete(key)]


# --- the review files ---------------------------------------------------------------------

# A source comment of `make review` (bridge/learning/review.py, _describe): "<outcome> |
# conversation <id> | <channel> | <when> | …".
_SOURCE = re.compile(r"^\s*#.*\|\s*conversation\s+\S+\s*(\||$)")
_EXAMPLE = re.compile(r"^\s*- ")
_SEEN = re.compile(r"seen (\d+)x")


def forget_in_review(text: str, conversation_id: str) -> tuple[str, int, int]:
    """A review file (`make review`'s, or data/nlu/reviewed.yml with the comments kept) without
    the conversation. Every source comment naming it goes; an entry left with none (its
    heading comment, and the example under it) goes with them; so does an intent left with no
    example (with the comments just above it). Answers the new text, and the examples and the
    source lines removed; the text is unchanged when it names the conversation nowhere."""
    word = _word(conversation_id)
    lines = text.splitlines(keepends=True)
    if not any(_SOURCE.match(line) and re.search(word, line) for line in lines):
        return text, 0, 0
    out: list[str | None] = []  # None: where an example was removed
    run: list[str] = []  # the comments since the last other line
    examples = sources = 0
    for line in [*lines, ""]:
        if line.lstrip().startswith("#"):
            run.append(line)
            continue
        example = bool(_EXAMPLE.match(line)) and not line.lstrip().startswith("- intent:")
        kept, removed, orphaned = _prune(run, word)
        sources += removed
        out += kept
        run = []
        if example and orphaned:
            examples += 1
            out.append(None)
        elif line:
            out.append(line)
    return _without_emptied_intents(out), examples, sources


def _prune(run: list[str], word: str) -> tuple[list[str], int, bool]:
    """A run of comment lines without the source lines matching `word`, and the heading of each
    entry left with no source (the line just above its sources). Answers the lines kept, the
    sources removed, and whether the last entry lost all its sources (then the example after
    the run, if any, is theirs alone)."""
    entries: list[tuple[list[str], list[str]]] = [([], [])]  # (headings, sources)
    for line in run:
        if _SOURCE.match(line):
            entries[-1][1].append(line)
        else:
            if entries[-1][1]:
                entries.append(([], []))
            entries[-1][0].append(line)
    kept: list[str] = []
    removed = 0
    orphaned = False
    for headings, found in entries:
        mine = [line for line in found if re.search(word, line)]
        orphaned = bool(found) and len(mine) == len(found)
        if mine and orphaned:
            headings = headings[:-1]
        elif mine and headings:
            heading = headings[-1]
            seen = _SEEN.search(heading)
            left = max(len(found) - len(mine), int(seen.group(1)) - len(mine)) if seen else 0
            headings = [*headings[:-1], _SEEN.sub(f"seen {left}x", heading, count=1)]
        removed += len(mine)
        kept += headings + [line for line in found if line not in mine]
    return kept, removed, orphaned


def _without_emptied_intents(lines: list[str | None]) -> str:
    """Drop each `- intent:` entry whose examples were all removed (None), with the comments
    just above it; `nlu: []` when no intent is left."""
    drop: set[int] = set()
    intents = [
        i for i, line in enumerate(lines) if line is not None and line.startswith("- intent:")
    ]
    for start in intents:
        end = start + 1
        while end < len(lines) and (lines[end] is None or str(lines[end])[:1] in (" ", "\t")):
            end += 1
        body = lines[start + 1 : end]
        if None not in body or any(x is not None and _EXAMPLE.match(x) for x in body):
            continue
        above = start
        while above > 0 and str(lines[above - 1]).lstrip().startswith("#"):
            above -= 1
        drop.update(range(above, end))
    kept = [line for i, line in enumerate(lines) if i not in drop and line is not None]
    if intents and all(i in drop for i in intents):
        kept = ["nlu: []\n" if line.rstrip() == "nlu:" else line for line in kept]
    return "".join(kept)


def forget_in_review_file(path: Path, conversation_id: str) -> str | None:
    """Rewrite one review file without the conversation (atomically); says what went, or None
    when the file is missing or names it nowhere."""
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    new, examples, sources = forget_in_review(text, conversation_id)
    if new == text:
        return None
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(new)
    os.replace(temporary, path)
    return f"removed {examples} examples and {sources} source lines from {path}"


def _word(conversation_id: str) -> str:
    return rf"(?<![\w-]){re.escape(conversation_id)}(?![\w-])"


def _glob(text: str) -> str:
    """`text` matched literally by a SCAN pattern."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)
