"""`make validate`'s answer check (tools/answer_check.py): every intent has an answer or a route,
and the recipe of docs/learning.md ("Adding a new intent") satisfies it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.learning import review
from tools import answer_check
from tools.answer_check import ROOT, problems

GIFT_CARDS = """version: "3.1"
nlu:
  - intent: gift_cards
    examples: |
      - do you sell gift cards
      - can I buy a gift voucher
      - how do I redeem a gift card
"""
RULE = """  - rule: route gift_cards
    steps:
      - intent: gift_cards
      - action: action_route
"""
RESPONSE = """  utter_gift_cards:
    - text: "We sell gift cards from 10 to 200 EUR on northwind.example/gift-cards."
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the files the check reads."""
    for name in ("domain.yml", "bot/routing.yml", "actions/answers.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "data", tmp_path / "data")
    return tmp_path


def _add_intent_examples(root: Path) -> None:
    (root / "data" / "nlu" / "gift_cards.yml").write_text(GIFT_CARDS, encoding="utf-8")


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n" + text, encoding="utf-8")


def _insert_after(path: Path, line: str, text: str) -> None:
    content = path.read_text(encoding="utf-8")
    assert line in content, f"{path} has no line {line!r}"
    path.write_text(content.replace(line, line + text, 1), encoding="utf-8")


def test_the_shipped_project_has_no_problems() -> None:
    assert problems(ROOT) == []


def test_a_new_intent_without_an_answer_is_named(project: Path) -> None:
    _add_intent_examples(project)
    found = problems(project)
    assert any("`gift_cards` has no answer and no routing entry" in p for p in found), found
    assert any("`gift_cards` is not in domain.yml `intents:`" in p for p in found), found
    assert any("no rule in data/ sends `gift_cards`" in p for p in found), found
    assert all("gift_cards" in p for p in found), found
    # As `make validate` runs it: exit status 1, a line per problem.
    done = subprocess.run(
        [sys.executable, "-m", "tools.answer_check", "--root", str(project)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "gift_cards" in done.stdout


def test_the_recipe_of_the_docs_leaves_no_problem(project: Path) -> None:
    """docs/learning.md, "Adding a new intent": examples, the intent and its response in the
    domain, its rule, and one line in bot/routing.yml."""
    _add_intent_examples(project)
    _insert_after(project / "domain.yml", "intents:\n", "  - gift_cards\n")
    _insert_after(project / "domain.yml", "responses:\n", RESPONSE)
    _append(project / "data" / "rules.yml", RULE)
    # Only the routing entry missing: that is the one problem left.
    assert [p for p in problems(project) if "gift_cards" in p] == [
        "data/nlu/gift_cards.yml: `gift_cards` has no answer and no routing entry: add "
        "`gift_cards: utter_gift_cards` under `answer:` in bot/routing.yml and the response "
        "`utter_gift_cards` in domain.yml (or route it under `handoff:` or `abstain:`)"
    ]
    _insert_after(project / "bot" / "routing.yml", "answer:\n", "  gift_cards: utter_gift_cards\n")
    assert problems(project) == []


def test_a_routing_entry_naming_a_missing_response_is_named(project: Path) -> None:
    _insert_after(project / "bot" / "routing.yml", "answer:\n", "  greet: utter_hello_there\n")
    routing = (project / "bot" / "routing.yml").read_text(encoding="utf-8")
    # The new entry replaces the old one (a YAML mapping keeps the last value of a key).
    (project / "bot" / "routing.yml").write_text(
        routing.replace("  greet: utter_greet\n", ""), encoding="utf-8"
    )
    found = problems(project)
    assert found == [
        "bot/routing.yml: `greet` is answered with `utter_hello_there`, which domain.yml "
        "`responses:` does not have: add its wording there"
    ]


def test_a_coded_answer_that_is_not_in_the_code_is_named(project: Path) -> None:
    routing = project / "bot" / "routing.yml"
    text = routing.read_text(encoding="utf-8").replace("greet: utter_greet", "greet: code")
    routing.write_text(text, encoding="utf-8")
    found = problems(project)
    assert len(found) == 1 and "`greet: code` but actions/answers.py CODED has no" in found[0]


def test_the_review_placeholder_moved_into_data_is_rejected(project: Path) -> None:
    placeholder = review.placeholder("gift card")
    assert placeholder == "TODO_gift_card"
    text = GIFT_CARDS.replace("intent: gift_cards", f"intent: {placeholder}")
    (project / "data" / "nlu" / "reviewed.yml").write_text(text, encoding="utf-8")
    found = problems(project)
    assert found == [
        "data/nlu/reviewed.yml: `TODO_gift_card` is the review file's placeholder: name the "
        "intent (docs/learning.md, Adding a new intent)"
    ]


def test_the_review_file_and_the_check_agree_on_the_placeholder() -> None:
    assert review.PLACEHOLDER_PREFIX == answer_check.PLACEHOLDER_PREFIX
    assert answer_check.is_placeholder(review.UNNAMED)
    taken: set[str] = set()
    assert [review.placeholder("bitcoin", taken) for _ in range(2)] == [
        "TODO_bitcoin",
        "TODO_bitcoin_2",
    ]
