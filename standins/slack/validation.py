"""What Slack refuses in a message's payload: its text, Block Kit blocks, metadata and reaction
names, answered with Slack's error codes.

Limits and wording follow Slack's reference (docs.slack.dev, "Block Kit" blocks and elements,
chat.postMessage, "Using message metadata", reactions.add). A refused block answers as Slack does:

    {"ok": false, "error": "invalid_blocks",
     "errors": ["must be less than 3001 characters [json-pointer:/blocks/0/text/text]"],
     "response_metadata": {"messages": ["[ERROR] must be less than 3001 characters [...]"]}}
"""

from __future__ import annotations

import re
from typing import Any

from .._common import json_field
from .state import SlackError

JSON = dict[str, Any]

# chat.postMessage: Slack truncates text beyond 40,000 characters (changelog 2018-04, "truncating
# really long messages") and lists msg_too_long; the stand-in refuses, so a test notices the loss.
TEXT_LIMIT = 40_000
MAX_BLOCKS = 50
BLOCK_ID_LIMIT = 255
ACTION_ID_LIMIT = 255

# Message metadata: "Event types can contain letters, numbers, underscores, and hyphens, but not
# periods or other punctuation. Metadata with an invalid event_type returns an
# invalid_metadata_schema warning and is ignored." (docs.slack.dev/messaging/message-metadata)
EVENT_TYPE = re.compile(r"^[A-Za-z0-9_-]+$")

# A reaction is an emoji's name without colons ("thumbsup"), optionally with a skin tone
# ("thumbsup::skin-tone-2"); anything else is invalid_name. (Slack also refuses names that are no
# emoji of the workspace; the stand-in knows no emoji list and checks the shape only.)
REACTION_NAME = re.compile(r"^[a-z0-9_+\-']+(::skin-tone-[2-6])?$")

# Blocks a message may carry (Block Kit reference, "Blocks": surfaces include messages).
BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "video",
    }
)
# Interactive elements an actions block (or a section's accessory) may hold.
INTERACTIVE = frozenset(
    {
        "button",
        "channels_select",
        "checkboxes",
        "conversations_select",
        "datepicker",
        "datetimepicker",
        "external_select",
        "multi_channels_select",
        "multi_conversations_select",
        "multi_external_select",
        "multi_static_select",
        "multi_users_select",
        "overflow",
        "radio_buttons",
        "static_select",
        "timepicker",
        "users_select",
        "workflow_button",
    }
)
BUTTON_STYLES = ("primary", "danger")


class _Problems:
    """The problems found in one payload, each with Slack's json-pointer suffix."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def add(self, message: str, pointer: str) -> None:
        self.found.append(f"{message} [json-pointer:{pointer}]")

    def raise_if_any(self) -> None:
        if self.found:
            raise SlackError(
                "invalid_blocks",
                {
                    "errors": self.found,
                    "response_metadata": {"messages": [f"[ERROR] {p}" for p in self.found]},
                },
            )


def message_text(params: JSON, blocks: list[JSON] | None) -> str:
    """The `text` argument: required unless there are blocks (`no_text`), at most 40,000
    characters (`msg_too_long`)."""
    value = params.get("text")
    text = "" if value is None else str(value)
    if not text and not blocks:
        raise SlackError("no_text")
    if len(text) > TEXT_LIMIT:
        raise SlackError("msg_too_long")
    return text


def blocks(raw: Any) -> list[JSON] | None:
    """The `blocks` argument (a JSON array, or a string of one), checked as Slack checks it;
    None when there are none."""
    value = json_field(raw)
    if value in (None, "", []):
        return None
    if not isinstance(value, list):
        # "The blocks is not a valid JSON object or doesn't match the Block Kit syntax."
        raise SlackError("invalid_blocks_format")
    problems = _Problems()
    if len(value) > MAX_BLOCKS:
        problems.add(f"no more than {MAX_BLOCKS} items allowed", "/blocks")
    block_ids: set[str] = set()
    for index, block in enumerate(value):
        _block(block, f"/blocks/{index}", block_ids, problems)
    problems.raise_if_any()
    return value


def _block(block: Any, at: str, block_ids: set[str], problems: _Problems) -> None:
    if not isinstance(block, dict):
        problems.add("must provide an object", at)
        return
    kind = block.get("type")
    if not isinstance(kind, str) or not kind:
        problems.add("missing required field: type", at)
        return
    if kind not in BLOCK_TYPES:
        problems.add(f"unsupported type: {kind}", f"{at}/type")
        return
    block_id = block.get("block_id")
    if block_id is not None:
        if not isinstance(block_id, str) or not block_id:
            problems.add("must be a non-empty string", f"{at}/block_id")
        elif len(block_id) > BLOCK_ID_LIMIT:
            problems.add(f"must be less than {BLOCK_ID_LIMIT + 1} characters", f"{at}/block_id")
        elif block_id in block_ids:
            problems.add("block_id must be unique in the message", f"{at}/block_id")
        else:
            block_ids.add(block_id)
    check = _CHECKS.get(kind)
    if check is not None:
        check(block, at, problems)


def _text(obj: Any, at: str, limit: int, problems: _Problems, plain_only: bool = False) -> None:
    """A text object: {"type": "plain_text" | "mrkdwn", "text": 1..limit characters}."""
    if not isinstance(obj, dict):
        problems.add("must provide an object", at)
        return
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if obj.get("type") not in allowed:
        problems.add(f"must be one of {', '.join(allowed)}", f"{at}/type")
    _string(obj.get("text"), f"{at}/text", limit, problems)


def _string(value: Any, at: str, limit: int, problems: _Problems, required: bool = True) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str):
        problems.add("must be a string", at)
    elif not value:
        problems.add("must be more than 0 characters", at)
    elif len(value) > limit:
        problems.add(f"must be less than {limit + 1} characters", at)


def _section(block: JSON, at: str, problems: _Problems) -> None:
    text, fields = block.get("text"), block.get("fields")
    if text is None and fields is None:
        problems.add("must define either `text` or `fields`", at)
    if text is not None:
        _text(text, f"{at}/text", 3000, problems)
    if fields is not None:
        if not isinstance(fields, list) or not fields:
            problems.add("must provide a non-empty array", f"{at}/fields")
        else:
            if len(fields) > 10:
                problems.add("no more than 10 items allowed", f"{at}/fields")
            for n, field in enumerate(fields):
                _text(field, f"{at}/fields/{n}", 2000, problems)
    accessory = block.get("accessory")
    if accessory is not None:
        _element(accessory, f"{at}/accessory", set(), problems, images=True)


def _header(block: JSON, at: str, problems: _Problems) -> None:
    _text(block.get("text"), f"{at}/text", 150, problems, plain_only=True)


def _context(block: JSON, at: str, problems: _Problems) -> None:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        problems.add("must provide a non-empty array", f"{at}/elements")
        return
    if len(elements) > 10:
        problems.add("no more than 10 items allowed", f"{at}/elements")
    for n, element in enumerate(elements):
        where = f"{at}/elements/{n}"
        if isinstance(element, dict) and element.get("type") == "image":
            _image(element, where, problems)
        else:
            _text(element, where, 3000, problems)


def _actions(block: JSON, at: str, problems: _Problems) -> None:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        problems.add("must provide a non-empty array", f"{at}/elements")
        return
    if len(elements) > 25:
        problems.add("no more than 25 items allowed", f"{at}/elements")
    # "action_id ... should be unique among all other action_ids in the containing block."
    action_ids: set[str] = set()
    for n, element in enumerate(elements):
        _element(element, f"{at}/elements/{n}", action_ids, problems)


def _element(
    element: Any, at: str, action_ids: set[str], problems: _Problems, images: bool = False
) -> None:
    if not isinstance(element, dict):
        problems.add("must provide an object", at)
        return
    kind = element.get("type")
    if images and kind == "image":
        _image(element, at, problems)
        return
    if kind not in INTERACTIVE:
        problems.add(f"unsupported type: {kind}", f"{at}/type")
        return
    action_id = element.get("action_id")
    if action_id is not None:
        if not isinstance(action_id, str) or not action_id:
            problems.add("must be a non-empty string", f"{at}/action_id")
        elif len(action_id) > ACTION_ID_LIMIT:
            problems.add(f"must be less than {ACTION_ID_LIMIT + 1} characters", f"{at}/action_id")
        elif action_id in action_ids:
            problems.add("action_id must be unique in the block", f"{at}/action_id")
        else:
            action_ids.add(action_id)
    if kind == "button":
        _text(element.get("text"), f"{at}/text", 75, problems, plain_only=True)
        _string(element.get("value"), f"{at}/value", 2000, problems, required=False)
        _string(element.get("url"), f"{at}/url", 3000, problems, required=False)
        style = element.get("style")
        if style is not None and style not in BUTTON_STYLES:
            problems.add("must be one of primary, danger", f"{at}/style")


def _image(block: JSON, at: str, problems: _Problems) -> None:
    if block.get("image_url") is None and block.get("slack_file") is None:
        problems.add("must define either `image_url` or `slack_file`", at)
    _string(block.get("image_url"), f"{at}/image_url", 3000, problems, required=False)
    _string(block.get("alt_text"), f"{at}/alt_text", 2000, problems)
    if block.get("title") is not None:
        _text(block["title"], f"{at}/title", 2000, problems, plain_only=True)


def _rich_text(block: JSON, at: str, problems: _Problems) -> None:
    if not isinstance(block.get("elements"), list):
        problems.add("must provide an array", f"{at}/elements")


def _input(block: JSON, at: str, problems: _Problems) -> None:
    _text(block.get("label"), f"{at}/label", 2000, problems, plain_only=True)
    element = block.get("element")
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        problems.add("missing required field: element", at)


def _file(block: JSON, at: str, problems: _Problems) -> None:
    _string(block.get("external_id"), f"{at}/external_id", 255, problems)
    if block.get("source") != "remote":
        problems.add("must be remote", f"{at}/source")


def _markdown(block: JSON, at: str, problems: _Problems) -> None:
    _string(block.get("text"), f"{at}/text", 12_000, problems)


def _video(block: JSON, at: str, problems: _Problems) -> None:
    for name in ("alt_text", "thumbnail_url", "video_url"):
        _string(block.get(name), f"{at}/{name}", 3000, problems)
    _text(block.get("title"), f"{at}/title", 200, problems, plain_only=True)


_CHECKS = {
    "actions": _actions,
    "context": _context,
    "file": _file,
    "header": _header,
    "image": _image,
    "input": _input,
    "markdown": _markdown,
    "rich_text": _rich_text,
    "section": _section,
    "video": _video,
}


def metadata(raw: Any) -> tuple[JSON | None, list[str]]:
    """Message metadata ({"event_type": str, "event_payload": {...}}, JSON or a string of it)
    and the warnings of the answer. A malformed one is `invalid_metadata_format`; one whose
    event_type has other characters is ignored with an `invalid_metadata_schema` warning."""
    value = json_field(raw)
    if value in (None, "", {}):
        return None, []
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("event_type"), str)
        or not value["event_type"]
        or not isinstance(value.get("event_payload", {}), dict)
    ):
        raise SlackError("invalid_metadata_format")
    if not EVENT_TYPE.match(value["event_type"]):
        return None, ["invalid_metadata_schema"]
    return {"event_type": value["event_type"], "event_payload": value.get("event_payload", {})}, []


def with_warnings(result: JSON, warnings: list[str]) -> JSON:
    """A successful answer with Slack's warnings: `warning` and response_metadata.warnings."""
    if warnings:
        result["warning"] = ",".join(warnings)
        result["response_metadata"] = {"warnings": warnings}
    return result


def reaction_name(raw: Any) -> str:
    name = "" if raw is None else str(raw)
    if not REACTION_NAME.match(name):
        raise SlackError("invalid_name")
    return name
