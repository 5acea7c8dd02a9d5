"""Every Redis key the bridge uses, in one place."""

from __future__ import annotations

import hashlib
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


def conversation(conversation_id: str) -> str:
    """Hash: channel, external id, display name, mode, Slack thread."""
    return f"{PREFIX}conv:{conversation_id}"


def transcript(conversation_id: str) -> str:
    """Stream: every message of the conversation, any role, in order."""
    return f"{PREFIX}conv:{conversation_id}:log"


# What conversation(id) puts in front of the id. The staff-reply lookup script reads the
# conversation a thread maps to in the same call, so it has to build that key itself.
CONVERSATION_PREFIX = conversation("")


def slack_thread(channel: str, thread_ts: str) -> str:
    """String: the conversation a staff thread belongs to."""
    return f"{PREFIX}slack:thread:{channel}:{thread_ts}"


def seen(source: str, event_id: str) -> str:
    """String with TTL: an inbound event already accepted (source: slack, telegram, widget)."""
    return f"{PREFIX}seen:{source}:{event_id}"


# Staff desk (docs/staff-desk.md).

# Sorted set: handoffs nobody has claimed yet, scored by when the customer should be told
# (ms since the epoch). Members are conversation ids.
UNCLAIMED = PREFIX + "desk:unclaimed"


def earlier_threads(conversation_id: str) -> str:
    """List: ts of the conversation's earlier staff threads, oldest first (returning customers)."""
    return f"{PREFIX}conv:{conversation_id}:threads"


def relayed(channel: str, ts: str) -> str:
    """Hash: a staff message sent on to a customer (conversation, transcript id, Telegram ids)."""
    return f"{PREFIX}slack:relayed:{channel}:{ts}"


def transcript_edits(conversation_id: str) -> str:
    """Hash: transcript id -> JSON {text} or {deleted} for staff messages edited after sending."""
    return f"{PREFIX}conv:{conversation_id}:edits"


def attachment(file_id: str) -> str:
    """Hash with a TTL: name, type, owner and size of a photo or file sent in a conversation,
    and its base64 data when the contents are kept in Redis."""
    return f"{PREFIX}file:{file_id}"


# Attachments are kept for the widget's history and for late deliveries, not forever.
ATTACHMENT_TTL_S = 30 * 24 * 3600
# Larger files are refused (Telegram bots may send photos of up to 10 MB).
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024

# --- Files held, and their total (bridge/store/files.py; docs/deployment.md, "Files") ---
# Whichever backend keeps the contents (Redis or a directory), attachment(id) keeps a file's
# metadata with its expiry, and these three count what is held. Expired entries are pruned (and
# their bytes subtracted) by the same script that admits a new file, so the total only ever
# counts files that still exist.
# Sorted set: file id -> when it expires (ms since the epoch, Redis's clock).
FILES_INDEX = PREFIX + "files:index"
# Hash: file id -> its size in bytes, for every id in FILES_INDEX.
FILES_SIZES = PREFIX + "files:sizes"
# String: the sum of FILES_SIZES, i.e. the bytes the files in FILES_INDEX hold.
FILES_BYTES = PREFIX + "files:bytes"

# Telegram allows deleting a message for 48 hours; edits are remembered a little longer.
RELAY_TTL_S = 7 * 24 * 3600


# Sorted set: conversation id -> time of its last message (ms). Read by the idle sweep that
# feeds the "conversations ended" metrics (bridge/observability/timeline.py).
ACTIVITY = PREFIX + "ops:activity"


# Learning from conversations (docs/learning.md).


def turns(conversation_id: str) -> str:
    """Stream: what the assistant decided for each customer message (intent, confidence,
    outcome), as action_route reported it. Read by `make review`."""
    return f"{PREFIX}conv:{conversation_id}:turns"


def marks(conversation_id: str) -> str:
    """Hash: Slack ts (or "trigger") of a customer message -> JSON staff mark (intent or new
    topic), set from the handoff thread."""
    return f"{PREFIX}conv:{conversation_id}:marks"


# Sorted set: conversation id -> last time (ms) it had something to review (an abstention, a
# low-confidence answer, a handoff or a staff mark).
REVIEW = PREFIX + "learn:review"

# Set: topics with recent handoffs or abstentions, each with a sorted set below: an intent
# (`intent:<name>`) or a group of similar messages (`text:<group id>`, bridge/learning/topics.py).
SPIKE_TOPICS = PREFIX + "learn:spike:topics"
# Hash: text group id -> its hashed word counts (cjson), for 25 hours after it was last joined.
SPIKE_GROUPS = PREFIX + "learn:spike-groups"
# Sorted sets of random tokens scored by time (ms), last 25 hours: every handoff or abstention
# counted towards a topic (the volume a spike is measured against), and, apart, the explicit
# requests for a person (never a topic: asking for a person is what the product is for).
SPIKE_VOLUME = PREFIX + "learn:spike-volume"
PERSON_REQUESTS = PREFIX + "learn:person-requests"


def spike_events(topic: str) -> str:
    """Sorted set: JSON {conversation, text, outcome, id} scored by time (ms), last 25 hours."""
    return f"{PREFIX}learn:spike:{topic}"


def spike_alerted(topic: str) -> str:
    """String with a one-hour TTL: an alert about this topic was queued."""
    return f"{PREFIX}learn:spike:{topic}:alerted"


def offered(conversation_id: str) -> str:
    """Hash: payload -> title of every quick-reply button sent to the customer lately; a tap is
    accepted only for a button that was offered (docs/identity.md)."""
    return f"{PREFIX}conv:{conversation_id}:offered"


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
    """Stream: one partition of SLACK_OUTBOX or TELEGRAM_OUTBOX (`bridge:out:slack:p3`)."""
    return f"{platform_stream}:p{partition}"


def guest_partition(platform_stream: str, partition: int) -> str:
    """Stream: one of the guests' partitions (`bridge:out:slack:g1`)."""
    return f"{platform_stream}:g{partition}"


def slack_outbox(conversation_id: str) -> str:
    """The Slack delivery stream of this conversation's partition."""
    if not conversation_id:
        return SLACK_OUTBOX
    if is_guest_conversation(conversation_id):
        guest = zlib.crc32(conversation_id.encode()) % GUEST_PARTITIONS
        return guest_partition(SLACK_OUTBOX, guest)
    return outbox_partition(SLACK_OUTBOX, partition_of(conversation_id))


def telegram_outbox(conversation_id: str) -> str:
    """The Telegram delivery stream of this conversation's partition."""
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
    leases in one Redis Cluster slot (bridge/partitions.py renews them in one script)."""
    return f"{PREFIX}{{lease}}:{stream.removeprefix(PREFIX)}"


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


def customer_quota(source: str, customer: str) -> str:
    """String with a TTL: when the customer's message quota is next fully free (GCRA, ms)."""
    return f"{PREFIX}quota:{source}:{customer}"


# Abuse limits (bridge/limits.py): strings with a TTL, each the time (ms) its bucket is next
# empty. `subject` is an address, an origin (hashed when long), a conversation or "all".
def limit(name: str, subject: str) -> str:
    return f"{PREFIX}limit:{name}:{subject}"


def revoked_sessions(conversation_id: str) -> str:
    """String with a TTL: widget session tokens of this conversation issued before this time
    (seconds) are refused (`make forget`). Named by a digest of the id: it is what remains of an
    erased conversation, and must not name it."""
    digest = hashlib.sha256(conversation_id.encode()).hexdigest()[:32]
    return f"{PREFIX}session:revoked:{digest}"


# A widget session token is never valid longer than this, so a revocation need not outlive it.
SESSION_MAX_TTL_S = 30 * 24 * 3600
