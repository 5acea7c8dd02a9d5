"""What the bridge's own notices look like in Slack: thread notices, a receipt that says a
message was not delivered, and a topic-spike alert."""

from __future__ import annotations

from bridge.outbox.jobs import Notice, PostNotice, Receipt, TopicSpikeAlert
from bridge.platforms.slack.mrkdwn import escape, quote
from bridge.texts import staff as texts

# Reactions on a staff member's own message: its receipts.
DELIVERED = "white_check_mark"  # the customer's platform accepted it
KEPT_INTERNAL = "lock"  # a note: it stayed in Slack


def notice(job: PostNotice) -> str:
    match job.notice:
        case Notice.UNCLAIMED:
            return ":alarm_clock: " + texts.unclaimed(job.detail)
        case Notice.RATED:
            return ":bar_chart: " + texts.rated(escape(job.detail))
        case Notice.MARKED_INTENT:
            return ":memo: " + texts.marked(quote(job.words), f"`{escape(job.detail)}`")
        case Notice.MARKED_NEW_TOPIC:
            return ":memo: " + texts.marked(quote(job.words), texts.new_topic(escape(job.detail)))
        case Notice.NOT_MARKED:
            return f":warning: {texts.NOT_MARKED} {texts.MARK_USAGE}"


def not_delivered(receipt: Receipt) -> str:
    return f":warning: *{texts.NOT_DELIVERED}:* {escape(receipt.reason)}"


def spike_alert(alert: TopicSpikeAlert) -> str:
    heading = texts.spike_heading(escape(alert.topic), alert.last_hour, alert.usual_per_hour)
    lines = [":chart_with_upwards_trend: " + heading, texts.SPIKE_EXAMPLES]
    for example in alert.examples:
        said, where = escape(example.text), escape(example.conversation)
        lines.append(f"> {said}  _({example.outcome}, {where})_")
    lines.append(texts.SPIKE_FOOTER)
    return "\n".join(lines)
