"""Which stream each job goes on, and jobs staged for a Lua script that enqueues them in the
same step as the change they follow (a handoff, a desk action, a customer line)."""

from __future__ import annotations

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


# Lua: `enqueue(k, a)` adds the jobs staged at KEYS[k...] (their streams) and ARGV[a...]: the
# number of jobs, then for each its field count and its fields (`Staged`). A script calls it
# only on the branch where its change happened, so nothing is queued for a change it refused.
ENQUEUE_LUA = """
local function enqueue(k, a)
  local jobs = tonumber(ARGV[a])
  a = a + 1
  for j = 0, jobs - 1 do
    local n = tonumber(ARGV[a])
    redis.call('XADD', KEYS[k + j], '*', unpack(ARGV, a + 1, a + n))
    a = a + n + 1
  end
end
"""


@dataclass(frozen=True)
class Staged:
    """Jobs encoded for ENQUEUE_LUA: append `keys` to a script's KEYS and `args` to its ARGV."""

    keys: list[str]
    args: list[str]


def stage(*jobs: Job) -> Staged:
    streams, args = [], [str(len(jobs))]
    for job in jobs:
        flat = [part for item in encode(job).items() for part in item]
        streams.append(stream_for(job))
        args += [str(len(flat)), *flat]
    return Staged(streams, args)
