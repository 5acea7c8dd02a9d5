"""Which stream each job goes on, and jobs staged for a Lua script that enqueues them in the
same step as the change they follow (a handoff, a desk action, a customer line)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from bridge import keys
from bridge.models import Channel
from bridge.outbox.jobs import Job, ReviseSent, SendToCustomer, encode


def stream_for(job: Job) -> str:
    """The outbound stream of `job`: its platform's partition for its conversation."""
    if isinstance(job, SendToCustomer | ReviseSent):
        if job.via is not Channel.TELEGRAM:
            raise ValueError(f"{job.via} is sent live, not queued")
        return keys.telegram_outbox(job.conversation)
    return keys.slack_outbox(job.conversation)


# Lua: `enqueue(k, a)` adds the jobs staged at KEYS[k...] (their streams) and ARGV[a] (a JSON
# list of each job's fields, flattened; `Staged`). A script calls it only on the branch where
# its change happened, so nothing is queued for a change it refused. One argument for all the
# jobs, not one per field: every argument costs the client a pass over the whole command.
ENQUEUE_LUA = """
local function enqueue(k, a)
  for j, fields in ipairs(cjson.decode(ARGV[a])) do
    redis.call('XADD', KEYS[k + j - 1], '*', unpack(fields))
  end
end
"""


@dataclass(frozen=True)
class Staged:
    """Jobs encoded for ENQUEUE_LUA: append `keys` to a script's KEYS, and pass `arg` in its
    ARGV."""

    keys: list[str]
    arg: str


def stage(*jobs: Job) -> Staged:
    streams, fields = [], []
    for job in jobs:
        streams.append(stream_for(job))
        fields.append([part for item in encode(job).items() for part in item])
    return Staged(streams, json.dumps(fields))


def fields_arg(fields: dict[str, str]) -> str:
    """A stream entry's fields as one script argument: `unpack(cjson.decode(arg))` in Lua."""
    return json.dumps([part for item in fields.items() for part in item])
