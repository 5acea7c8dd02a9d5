"""What the bridge's own notices look like in Slack: thread notices, the answers to staff
marks (with the line picker's buttons), a receipt that says a message was not delivered, and a
topic-spike alert."""

from __future__ import annotations

import json
from typing import Any

from bridge.learning.marks import PENDING_MINUTES
from bridge.outbox.jobs import (
    MarkAnswer,
    MarkChoice,
    MarkRefusal,
    MarkReply,
    Notice,
    PostNotice,
    Receipt,
    TopicSpikeAlert,
)
from bridge.platforms.slack.mrkdwn import escape, quote
from bridge.texts import staff as texts

JSON = dict[str, Any]

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
            said = texts.line_ref(0, quote(job.words))
            return ":memo: " + texts.marked(said, f"`{escape(job.detail)}`")
        case Notice.MARKED_NEW_TOPIC:
            said = texts.line_ref(0, quote(job.words))
            return ":memo: " + texts.marked(said, texts.new_topic(escape(job.detail)))
        case Notice.NOT_MARKED:
            return f":warning: {texts.NOT_MARKED} {texts.MARK_USAGE}"


# A line picker's buttons: this, then the line's number (action ids are unique in a message).
PICK_ACTION = "mark_pick_"
# A picker button shows the line's number and the start of its words (Slack: 75 characters).
BUTTON_WORDS = 60
SECTION_LIMIT = 2900  # Slack: 3,000 characters of a section's text
_EMOJI = {"should_handle": ":robot_face:", "new_topic": ":new:"}


def mark_reply(job: MarkReply) -> tuple[str, list[JSON]]:
    """A staff mark's answer: its text, and its blocks (a picker's carry a button per line)."""
    who = escape(job.by)
    said = texts.line_ref(job.number, _said(job.words))
    emoji = _EMOJI.get(job.kind, ":memo:")
    match job.answer:
        case MarkAnswer.MARKED if job.intent:
            text = ":memo: " + texts.marked(said, f"`{escape(job.intent)}`", who)
        case MarkAnswer.MARKED if job.label:
            text = ":memo: " + texts.marked(said, texts.new_topic(escape(job.label)), who)
        case MarkAnswer.MARKED if job.kind == "new_topic":
            text = f"{emoji} " + texts.marked_new_topic(said, who)
        case MarkAnswer.MARKED:
            text = f"{emoji} " + texts.marked_should_handle(said, who)
        case MarkAnswer.UNMARKED:
            text = ":leftwards_arrow_with_hook: " + texts.unmarked(said, who)
        case MarkAnswer.PICK:
            what, command = texts.PICK_WHAT[job.kind], texts.PICK_COMMAND[job.kind]
            text = _with_lines(f"{emoji} " + texts.pick(what, who, command), job.choices)
            buttons = [_pick_button(job, choice) for choice in job.choices]
            return text, [_section(text), {"type": "actions", "elements": buttons}]
        case MarkAnswer.NOT_MARKED:
            text = ":warning: " + texts.not_marked(_why(job))
            if job.choices:
                text = _with_lines(text + "\n" + texts.CUSTOMER_LINES, job.choices)
            elif job.why in (MarkRefusal.NO_TARGET, MarkRefusal.NO_SUCH_LINE, MarkRefusal.NO_MATCH):
                text += "\n" + texts.NO_CUSTOMER_LINES
    return text, [_section(text)]


def picked(value: object) -> tuple[str, str, str] | None:
    """(mark kind, line, post reacted to) of a picker button's value; None if it is not one."""
    try:
        found = json.loads(str(value))
        kind, line, on = str(found["kind"]), str(found["line"]), str(found["on"])
    except (ValueError, KeyError, TypeError):
        return None
    return (kind, line, on) if kind in texts.PICK_WHAT else None


def _why(job: MarkReply) -> str:
    command = escape(job.command)
    match job.why:
        case MarkRefusal.NO_TARGET:
            return texts.not_marked_no_target(command, PENDING_MINUTES)
        case MarkRefusal.BAD_NAME:
            return texts.BAD_INTENT_NAME
        case MarkRefusal.NO_SUCH_LINE:
            return texts.no_such_line(job.number)
        case MarkRefusal.NO_MATCH:
            return texts.no_line_contains(_said(job.words))
        case MarkRefusal.AMBIGUOUS:
            return texts.several_contain(_said(job.words))
        case MarkRefusal.NOT_CUSTOMER:
            return texts.NOT_A_CUSTOMER_MESSAGE
        case MarkRefusal.GONE | None:
            return texts.LINE_GONE


def _with_lines(head: str, choices: tuple[MarkChoice, ...]) -> str:
    """`head`, then the lines listed, the earliest left out if they would not fit a section."""
    listed = [f"• {texts.line_ref(c.number, _said(c.words, 90))}" for c in choices]
    while listed and len(head) + sum(len(line) + 1 for line in listed) > SECTION_LIMIT:
        listed.pop(0)
    return "\n".join([head, *listed])


def _pick_button(job: MarkReply, choice: MarkChoice) -> JSON:
    words = " ".join(choice.words.split())
    words = words if len(words) <= BUTTON_WORDS else words[: BUTTON_WORDS - 1] + "…"
    value = {"kind": job.kind, "line": choice.line, "on": job.on}
    return {
        "type": "button",
        "action_id": f"{PICK_ACTION}{choice.number}",
        "text": {"type": "plain_text", "text": f"#{choice.number} · {words}"},
        "value": json.dumps(value, separators=(",", ":")),
    }


def _said(words: str, limit: int = 120) -> str:
    """A customer's words on one line, shortened and escaped."""
    return quote(" ".join(words.split()), limit)


def _section(text: str) -> JSON:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


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
