"""Every Redis key the bridge uses, in one place."""

from __future__ import annotations

import hashlib
import re
import zlib

PREFIX = "bridge:"

# Outbound delivery streams, one per platform, drained by that platform's sender.
SLACK_OUTBOX = PREFIX + "out:slack"
TELEGRAM_OUTBOX = PREFIX + "out:telegram"
DEAD_LETTERS = PREFIX + "out:dead"
SENDER_GROUP = "senders"
# A delivered entry is deleted from its stream as it is acknowledged; the dead letters keep the
# fields of what could not be delivered, the newest this many (and none older than the
# retention time: bridge/outbox/retention.py).
DEAD_LETTERS_KEPT = 10_000

# Pub/sub channel that fans widget messages out to whichever process holds the socket.
WIDGET_EVENTS = PREFIX + "widget:events"
WIDGET_SECRET = PREFIX + "widget:secret"

# How long an inbound event id is remembered for de-duplication (platform retries come
# within minutes; a day is generous).
DEDUPE_TTL_S = 24 * 3600


# --- Hash slots (Redis Cluster; docs/scaling.md, "Cluster") ---
# A Lua script or MULTI transaction on Cluster may touch the keys of one hash slot only, and a
# script must name them all in KEYS. The step that records a conversation's line also queues its
# job, so a conversation's keys and its outbound partition streams share one slot: every such
# key carries the hash tag of the conversation's partition, `{p<partition_of(id)>}` (a guest's
# `{g<n>}`, its Slack partition), e.g. `bridge:{p3}:conv:<id>` and `bridge:{p3}:out:slack`.
# That is OUTBOX_PARTITIONS + GUEST_PARTITIONS (10) slots for all conversation data, so the
# conversations spread over at most 10 primaries (and unevenly over fewer: a primary holds the
# slots of whole partitions). Indexes that a conversation script updates (ACTIVITY, UNCLAIMED)
# are split into one sorted set per partition tag, read one by one. Keys no conversation script
# touches keep no tag, or a tag of their own group ({lease}, {ratelimit}, {files}, {learn}).
# The tags are harmless on a standalone or Sentinel Redis, so there is one naming everywhere;
# tools/migrate_keys.py renames the keys of a deployment from before the tags.


def _slot_tag(conversation_id: str) -> str:
    if is_guest_conversation(conversation_id):
        return f"g{zlib.crc32(conversation_id.encode()) % GUEST_PARTITIONS}"
    return f"p{partition_of(conversation_id)}"


def slot_tag(conversation_id: str) -> str:
    """The hash tag (`{p3}`) of the conversation's keys and of its partition streams."""
    return "{" + _slot_tag(conversation_id) + "}"


def slot_tags() -> list[str]:
    """Every partition tag, for the indexes kept one per tag."""
    return [f"{{p{p}}}" for p in range(OUTBOX_PARTITIONS)] + [
        f"{{g{g}}}" for g in range(GUEST_PARTITIONS)
    ]


def in_slot_of(key: str, anchor: str) -> str:
    """`key` (bridge:…) moved into the slot of key `anchor`: anchor's hash tag when it has one,
    else anchor's whole name as the tag (the slot of an untagged key is that of its name)."""
    match = re.search(r"\{([^}]+)\}", anchor)
    tag = match.group(1) if match else anchor
    return f"{PREFIX}{{{tag}}}:{key.removeprefix(PREFIX)}"


def in_conversation_slot(key: str, conversation_id: str) -> str:
    """`key` (bridge:…) in the conversation's slot (`bridge:{p3}:…`)."""
    return f"{PREFIX}{slot_tag(conversation_id)}:{key.removeprefix(PREFIX)}"


def conversation(conversation_id: str) -> str:
    """Hash: channel, external id, display name, mode, Slack thread."""
    return f"{PREFIX}{slot_tag(conversation_id)}:conv:{conversation_id}"


def transcript(conversation_id: str) -> str:
    """Stream: every message of the conversation, any role, in order."""
    return f"{conversation(conversation_id)}:log"


def slack_thread(channel: str, thread_ts: str) -> str:
    """String: the conversation a staff thread belongs to."""
    return f"{PREFIX}slack:thread:{channel}:{thread_ts}"


def seen(source: str, event_id: str, conversation_id: str = "") -> str:
    """String with TTL: an inbound event already accepted (source: slack, telegram, widget).
    With a conversation, in its slot: the conversation's scripts set it in the same step."""
    key = f"{PREFIX}seen:{source}:{event_id}"
    return in_conversation_slot(key, conversation_id) if conversation_id else key


# What SCAN matches every once key with (tagged or not).
SEEN_PATTERN = PREFIX + "*seen:*"


# Staff desk (docs/staff-desk.md).


# Sorted sets, one per partition tag: handoffs nobody has claimed yet, scored by when the
# customer should be told (ms since the epoch). Members are conversation ids.
def unclaimed(conversation_id: str) -> str:
    return f"{PREFIX}{slot_tag(conversation_id)}:desk:unclaimed"


def unclaimed_shards() -> list[str]:
    return [f"{PREFIX}{tag}:desk:unclaimed" for tag in slot_tags()]


def earlier_threads(conversation_id: str) -> str:
    """List: ts of the conversation's earlier staff threads, oldest first (returning customers)."""
    return f"{conversation(conversation_id)}:threads"


def relayed(conversation_id: str, channel: str, ts: str) -> str:
    """Hash: a staff message sent on to a customer (conversation, transcript id, Telegram ids),
    in the conversation's slot (the relay script writes it)."""
    return f"{PREFIX}{slot_tag(conversation_id)}:slack:relayed:{channel}:{ts}"


RELAYED_PATTERN = PREFIX + "*slack:relayed:*"


def transcript_edits(conversation_id: str) -> str:
    """Hash: transcript id -> JSON {text} or {deleted} for staff messages edited after sending."""
    return f"{conversation(conversation_id)}:edits"


def attachment(file_id: str) -> str:
    """Hash with a TTL: name, type, owner and size of a photo or file sent in a conversation,
    and its base64 data when the contents are kept in Redis."""
    return f"{PREFIX}file:{{files}}:{file_id}"


# Attachments are kept for the widget's history and for late deliveries, not forever.
ATTACHMENT_TTL_S = 30 * 24 * 3600
# Larger files are refused (Telegram bots may send photos of up to 10 MB).
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024

# --- Files held, and their total (bridge/store/files.py; docs/deployment.md, "Files") ---
# Whichever backend keeps the contents (Redis or a directory), attachment(id) keeps a file's
# metadata with its expiry, and these three count what is held. Expired entries are pruned (and
# their bytes subtracted) by the same script that admits a new file, so the total only ever
# counts files that still exist. All in one Cluster slot ({files}): the scripts keep the four
# together. (On Cluster, keep the contents in a directory, FILES_DIR, not on that one node.)
# Sorted set: file id -> when it expires (ms since the epoch, Redis's clock).
FILES_INDEX = PREFIX + "files:{files}:index"
# Hash: file id -> its size in bytes, for every id in FILES_INDEX.
FILES_SIZES = PREFIX + "files:{files}:sizes"
# String: the sum of FILES_SIZES, i.e. the bytes the files in FILES_INDEX hold.
FILES_BYTES = PREFIX + "files:{files}:bytes"

# Telegram allows deleting a message for 48 hours; edits are remembered a little longer.
RELAY_TTL_S = 7 * 24 * 3600


# Sorted sets, one per partition tag: conversation id -> time of its last message (ms). Read by
# the idle sweep that feeds the "conversations ended" metrics (bridge/observability/timeline.py).
def activity(conversation_id: str) -> str:
    return f"{PREFIX}{slot_tag(conversation_id)}:ops:activity"


def activity_shards() -> list[str]:
    return [f"{PREFIX}{tag}:ops:activity" for tag in slot_tags()]


# Learning from conversations (docs/learning.md).


def turns(conversation_id: str) -> str:
    """Stream: what the assistant decided for each customer message (intent, confidence,
    outcome), as action_route reported it. Read by `make review`."""
    return f"{conversation(conversation_id)}:turns"


def marks(conversation_id: str) -> str:
    """Hash: Slack ts (or "trigger") of a customer message -> JSON staff mark (intent or new
    topic), set from the handoff thread."""
    return f"{conversation(conversation_id)}:marks"


# Sorted set: conversation id -> last time (ms) it had something to review (an abstention, a
# low-confidence answer, a handoff or a staff mark).
REVIEW = PREFIX + "learn:review"

# Set: topics with recent handoffs or abstentions, each with a sorted set below: an intent
# (`intent:<name>`) or a group of similar messages (`text:<group id>`, bridge/learning/topics.py).
SPIKE_TOPICS = PREFIX + "learn:spike:{spike}:topics"
# Hash: text group id -> its hashed word counts (cjson), for 25 hours after it was last joined.
SPIKE_GROUPS = PREFIX + "learn:spike-groups"
# Sorted sets of random tokens scored by time (ms), last 25 hours: every handoff or abstention
# counted towards a topic (the volume a spike is measured against), and, apart, the explicit
# requests for a person (never a topic: asking for a person is what the product is for).
# Tagged {spike}: the counting script updates a topic's events, the topics and the volume together.
SPIKE_VOLUME = PREFIX + "learn:spike-volume:{spike}"
PERSON_REQUESTS = PREFIX + "learn:person-requests"


def spike_events(topic: str) -> str:
    """Sorted set: JSON {conversation, text, outcome, id} scored by time (ms), last 25 hours."""
    return f"{PREFIX}learn:spike:{{spike}}:{topic}"


def spike_alerted(topic: str) -> str:
    """String with a one-hour TTL: an alert about this topic was queued. In the slot of
    SLACK_OUTBOX, where the alert is queued in the same step."""
    return in_slot_of(f"{PREFIX}learn:spike:{topic}:alerted", SLACK_OUTBOX)


def offered(conversation_id: str) -> str:
    """Hash: payload -> title of every quick-reply button sent to the customer lately; a tap is
    accepted only for a button that was offered (docs/identity.md)."""
    return f"{conversation(conversation_id)}:offered"


# How long an offered button can be tapped.
OFFERED_TTL_S = 24 * 3600


# Identities (docs/identity.md).


def identity_token(token_id: str) -> str:
    """String with a TTL (until the token expires): the widget session a signed identity with
    this `jti` was first used in; another session presenting it is refused."""
    return f"{PREFIX}identity:jti:{token_id}"


def telegram_link_code(code: str) -> str:
    """String with a TTL: JSON of the customer a one-time Telegram link code signs in."""
    return f"{PREFIX}identity:tglink:{code}"


def customer_conversations(customer_id: str) -> str:
    """Set: the conversations the shop's customer is signed in to (unlinked together)."""
    return f"{PREFIX}customer:{customer_id}:conversations"


def customer_threads(customer_id: str) -> str:
    """List: ts of the customer's staff threads on every channel, oldest first."""
    return f"{PREFIX}customer:{customer_id}:threads"


# A customer's index lives as long as a conversation's data.
CUSTOMER_INDEX_TTL_S = 30 * 24 * 3600


# Every key that belongs to one conversation and carries what the customer said; they share the
# retention time (CONVERSATION_RETENTION_S), refreshed on activity, and `make forget` deletes them.
def conversation_keys(conversation_id: str) -> list[str]:
    return [
        conversation(conversation_id),
        transcript(conversation_id),
        earlier_threads(conversation_id),
        transcript_edits(conversation_id),
        turns(conversation_id),
        marks(conversation_id),
        offered(conversation_id),
    ]


# Rasa's Redis tracker store (deploy/endpoints.yml) keeps one key per conversation, in its own
# database.
RASA_TRACKER_PREFIX = "tracker:"


def rasa_tracker(conversation_id: str) -> str:
    return RASA_TRACKER_PREFIX + conversation_id


# Outbound partitions (docs/scaling.md). A conversation's jobs always go to the same partition
# stream of its platform, and one process at a time sends a partition (it holds the partition's
# lease), so a conversation's messages leave in the order they were queued, however many
# replicas run. Every replica must use the same count; change it only with empty queues.
OUTBOX_PARTITIONS = 8
# The unpartitioned streams above stay in use for jobs that belong to no conversation (channel
# alerts) and are drained like a partition.


# Web conversations of guests (not signed in when they began) have ids starting with this, and
# their desk jobs have partitions of their own: a guest's new thread gives way to every other
# post in the staff channel (docs/abuse.md), and while it waits it must hold up no signed-in
# customer's jobs queued behind it. ("g" is not a hex digit: other widget ids are w-<hex>.)
GUEST_CONVERSATION_PREFIX = "w-g"
GUEST_PARTITIONS = 2


def partition_of(conversation_id: str) -> int:
    return zlib.crc32(conversation_id.encode()) % OUTBOX_PARTITIONS


def is_guest_conversation(conversation_id: str) -> bool:
    return conversation_id.startswith(GUEST_CONVERSATION_PREFIX)


def outbox_partition(platform_stream: str, partition: int) -> str:
    """Stream: one partition of SLACK_OUTBOX or TELEGRAM_OUTBOX (`bridge:{p3}:out:slack`), in
    the slot of its conversations' keys."""
    return f"{PREFIX}{{p{partition}}}:{platform_stream.removeprefix(PREFIX)}"


def guest_partition(platform_stream: str, partition: int) -> str:
    """Stream: one of the guests' partitions (`bridge:{g1}:out:slack`)."""
    return f"{PREFIX}{{g{partition}}}:{platform_stream.removeprefix(PREFIX)}"


def slack_outbox(conversation_id: str) -> str:
    """The Slack delivery stream of this conversation's partition."""
    if not conversation_id:
        return SLACK_OUTBOX
    if is_guest_conversation(conversation_id):
        guest = zlib.crc32(conversation_id.encode()) % GUEST_PARTITIONS
        return guest_partition(SLACK_OUTBOX, guest)
    return outbox_partition(SLACK_OUTBOX, partition_of(conversation_id))


def telegram_outbox(conversation_id: str) -> str:
    """The Telegram delivery stream of this conversation's partition. (Guests are web
    conversations: nothing of theirs goes to Telegram.)"""
    return outbox_partition(TELEGRAM_OUTBOX, partition_of(conversation_id))


def outbox_streams(platform_stream: str) -> list[str]:
    """Every stream a platform's sender drains: the unpartitioned one, then the partitions
    (and, for Slack, the guests')."""
    streams = [platform_stream] + [
        outbox_partition(platform_stream, p) for p in range(OUTBOX_PARTITIONS)
    ]
    if platform_stream == SLACK_OUTBOX:
        streams += [guest_partition(platform_stream, p) for p in range(GUEST_PARTITIONS)]
    return streams


def lease(stream: str) -> str:
    """String with a TTL: the instance currently sending this stream. The hash tag keeps all
    leases in one Redis Cluster slot (bridge/partitions.py renews them in one script). Named as
    before the partition tags: `bridge:{lease}:out:slack:p3`."""
    name = stream.removeprefix(PREFIX)
    match = re.fullmatch(r"\{([pg]\d+)\}:(.*)", name)
    if match:
        name = f"{match.group(2)}:{match.group(1)}"
    return f"{PREFIX}{{lease}}:{name}"


# Sorted set: instance -> when its heartbeat expires (ms); sizes each replica's share.
SENDERS_ALIVE = PREFIX + "{lease}:alive"

# String with a TTL: the instance polling Telegram's getUpdates (TELEGRAM_UPDATES=polling).
# Telegram serves one poller per bot at a time, so the other replicas wait for this lease
# (bridge/platforms/telegram/polling.py).
TELEGRAM_POLLER = PREFIX + "telegram:poller"

# Platform limits shared by every replica (bridge/rate_limits.py): strings holding the earliest
# time (ms) the next call may go out. Hash-tagged so the Telegram pair fits one Cluster slot.


def slack_post_slot(channel: str) -> str:
    return f"{PREFIX}{{ratelimit}}:slack:{channel}"


def slack_post_turns(channel: str) -> str:
    """Sorted set: posts waiting for the channel's slot, in turn order."""
    return f"{PREFIX}{{ratelimit}}:slack:{channel}:turns"


def slack_post_turns_due(channel: str) -> str:
    """Hash: waiting post -> when (ms) it must ask again by, or lose its turn."""
    return f"{PREFIX}{{ratelimit}}:slack:{channel}:turns:due"


def telegram_chat_slot(chat_id: str) -> str:
    return f"{PREFIX}{{ratelimit}}:telegram:chat:{chat_id}"


TELEGRAM_GLOBAL_SLOT = PREFIX + "{ratelimit}:telegram:all"


def customer_quota(source: str, customer: str, conversation_id: str) -> str:
    """String with a TTL: when the customer's message quota is next fully free (GCRA, ms). In
    the slot of the customer's conversation: the script that records a line checks it."""
    return f"{PREFIX}{slot_tag(conversation_id)}:quota:{source}:{customer}"


# Abuse limits (bridge/limits.py): strings with a TTL, each the time (ms) its bucket is next
# empty. `subject` is an address, an origin (hashed when long), a conversation or "all".
# One Cluster slot ({limits}): a request's buckets are checked together in one script.
def limit(name: str, subject: str) -> str:
    return f"{PREFIX}limit:{{limits}}:{name}:{subject}"


def revoked_sessions(conversation_id: str) -> str:
    """String with a TTL: widget session tokens of this conversation issued before this time
    (seconds) are refused (`make forget`). Named by a digest of the id: it is what remains of an
    erased conversation, and must not name it."""
    digest = hashlib.sha256(conversation_id.encode()).hexdigest()[:32]
    return f"{PREFIX}session:revoked:{digest}"


# A widget session token is never valid longer than this, so a revocation need not outlive it.
SESSION_MAX_TTL_S = 30 * 24 * 3600
