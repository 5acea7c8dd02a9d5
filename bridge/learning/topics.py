"""What a message the bot could not handle is about, for topic spikes (bridge/learning/spikes.py).

The classifier's guess is no topic: gift cards, a Black Friday sale and paying in bitcoin are
all `out_of_scope` to it. A message's topic is therefore its intent only when the classifier is
confident about an intent that names a subject; otherwise the message joins the group of recent
messages it shares the most words with (cosine similarity of content-word counts, one group
per subject), or starts a new group.

Groups are kept in Redis and assigned by one Lua script, so replicas agree on them. They hold
hashes of words, never words: the customer's own words stay only in the spike's examples, which
`make forget` can find and remove (bridge/learning/forget.py). An alert's label is drawn from
those examples.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

# An intent is a topic only when the classifier is at least this sure of it.
CONFIDENT = 0.8
# Intents that say what the bot could not do, not what the customer wrote about.
NOT_A_SUBJECT = frozenset(
    {"out_of_scope", "nlu_fallback", "not_resolved", "contact_human_agent", "complaint", ""}
)
# A message joins the most similar group at or above this cosine similarity: two short
# messages sharing one subject word of two or three ("can I pay in bitcoin", "do you take
# bitcoin payments") score about 0.4-0.5.
SIMILAR = 0.4
# At most this many groups live at once (the least recently joined ones go first).
MAX_GROUPS = 300
# Each group keeps its most frequent word hashes, so its size stays bounded.
GROUP_WORDS = 40

_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)
# Words that say nothing about a subject (English; other languages' messages are handed to a
# person before they are counted: docs/languages.md).
STOPWORDS = frozenset(
    """a about am an and any anyone are as at be been but by can could did do does doing for
    from get got had has have having he her here hi hello hey how i if im in is it its just me
    my no not now of on one or our please pls so some someone tell than thank thanks that the
    their them then there these they this those to too up us very want was we were what when
    where which who why will with would yes you your yours ok okay need like know help really
    also still would there's what's i'm i'd i've don't can't it's get any way""".split()
)


def is_subject_intent(intent: str, confidence: float) -> bool:
    return intent not in NOT_A_SUBJECT and confidence >= CONFIDENT


def content_words(text: str) -> list[str]:
    """Lower-cased words that can name a subject, with a plain plural folded ("cards" → card)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    words = []
    for word in _WORD.findall(folded):
        if word in STOPWORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.append(word)
    return words


def features(text: str) -> dict[str, int]:
    """The message as counts of hashed content words (what the group store keeps)."""
    return dict(Counter(_hashed(word) for word in content_words(text)))


def label(examples: Iterable[str], size: int = 3) -> str:
    """A group's name for people: the content words most of its examples share (at most
    `size`, commonest first, then alphabetical), in the examples' own words."""
    texts = list(examples)
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(set(content_words(text)))  # once per example: a repeated word is no topic
    shared = [(n, word) for word, n in counts.items() if n >= max(1, len(texts) / 2)]
    ranked = sorted(shared, key=lambda item: (-item[0], item[1]))[:size]
    return ", ".join(word for _, word in ranked) or "(no words)"


def _hashed(word: str) -> str:
    return hashlib.blake2b(word.encode(), digest_size=6).hexdigest()


# KEYS[1]: the groups hash (group id -> cjson {v = {hash = count}, n = messages, at = ms}).
# ARGV: now ms, window ms, similarity, max groups, words kept, new group id, features (cjson).
# Answers the group id the message joined or started. Groups not joined within the window go.
ASSIGN_LUA = """
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local similar, max_groups, kept = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local message = cjson.decode(ARGV[7])
local norm = 0
for _, n in pairs(message) do norm = norm + n * n end
norm = math.sqrt(norm)
local best, best_score, oldest, oldest_at, count = nil, 0, nil, nil, 0
local raw = redis.call('HGETALL', KEYS[1])
local groups = {}
for i = 1, #raw, 2 do
  local id, group = raw[i], cjson.decode(raw[i + 1])
  if group.at < now - window then
    redis.call('HDEL', KEYS[1], id)
  else
    count = count + 1
    groups[id] = group
    if oldest_at == nil or group.at < oldest_at then oldest, oldest_at = id, group.at end
    if norm > 0 then
      local dot, gnorm = 0, 0
      for h, n in pairs(group.v) do
        gnorm = gnorm + n * n
        if message[h] then dot = dot + n * message[h] end
      end
      local score = 0
      if gnorm > 0 then score = dot / (norm * math.sqrt(gnorm)) end
      if score + 1e-9 >= similar and score > best_score then best, best_score = id, score end
    end
  end
end
local group
if best then
  group = groups[best]
else
  if count >= max_groups and oldest then redis.call('HDEL', KEYS[1], oldest) end
  best = ARGV[6]
  group = {v = {}, n = 0, at = now}
end
for h, n in pairs(message) do group.v[h] = (group.v[h] or 0) + n end
-- Keep the group's commonest words only, so it never grows without bound.
local ranked = {}
for h, n in pairs(group.v) do table.insert(ranked, {h, n}) end
if #ranked > kept then
  table.sort(ranked, function(a, b) return a[2] > b[2] or (a[2] == b[2] and a[1] < b[1]) end)
  group.v = {}
  for i = 1, kept do group.v[ranked[i][1]] = ranked[i][2] end
end
group.n = group.n + 1
group.at = now
redis.call('HSET', KEYS[1], best, cjson.encode(group))
redis.call('PEXPIRE', KEYS[1], window)
return best
"""
