"""What the evaluation reads from a parse result and a turn's bot messages (issue 15).

Pure functions with safe defaults: a model trained before the person-request detector and the
language detector existed has neither key, and reads as score 0, no phrase, no language.

* `parse_data["person_request"]`: {"score": 0..1, "phrase": str | None, "threshold": float}.
  A matched lexicon `phrase` counts as a request whatever the score.
* `parse_data["language"]`: {"code": "en" | "ru" | ..., "confidence": float, "foreign": bool}.
* a handoff payload (`custom.handoff` of a bot utterance): {"reason": ..., "language": code}.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

ABSTAIN_RESPONSE = "utter_abstain"


def person_request(parse: Mapping[str, Any] | None) -> tuple[float, str | None]:
    """(detector score, matched lexicon phrase) of a parse result; (0.0, None) when absent."""
    found = (parse or {}).get("person_request")
    if not isinstance(found, Mapping):
        return 0.0, None
    try:
        score = float(found.get("score") or 0.0)
    except (TypeError, ValueError):
        score = 0.0
    phrase = found.get("phrase")
    return score, (str(phrase) if phrase else None)


def detected_language(parse: Mapping[str, Any] | None) -> str | None:
    """The language code the model detected, lower case; None when the model detects none."""
    found = (parse or {}).get("language")
    if not isinstance(found, Mapping) or not found.get("code"):
        return None
    return normalise_lang(str(found["code"])) or None


def normalise_lang(code: str | None) -> str:
    """Codes compare case- and separator-insensitively: " pt_BR " -> "pt-br"."""
    return (code or "").strip().lower().replace("_", "-")


def handoff_payloads(custom_payloads: Iterable[Any]) -> list[dict[str, Any]]:
    """The handoff payloads among bot utterances' `custom` fields, in order."""
    return [
        custom["handoff"]
        for custom in custom_payloads
        if isinstance(custom, Mapping) and isinstance(custom.get("handoff"), Mapping)
    ]


def turn_outcome(
    handoffs: list[dict[str, Any]], abstained: bool, misses_before: int, misses_after: int
) -> tuple[str, str | None]:
    """(outcome, handoff reason) of one turn, as the single-row runner decides it: a handoff
    payload emitted -> handoff; the abstain response said or the misses slot went up ->
    fallback; anything else (an answer or a question back) -> answer."""
    if handoffs:
        reason = handoffs[0].get("reason")
        return "handoff", (str(reason) if reason is not None else None)
    if abstained or misses_after > misses_before:
        return "fallback", None
    return "answer", None
