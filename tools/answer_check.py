"""Every intent the assistant is trained on has somewhere to go (part of `make validate`).

    python -m tools.answer_check [--root DIR]      # a line per problem, exit status 1 if any

What the assistant does with an intent is declared once, in bot/routing.yml: `answer:` names
what answers it (a response of domain.yml, the shop's policy text, or a coded answer of
actions/answers.py), `handoff:` sends it to a person, `abstain:` says "I can't help with that
here". An intent in the training data with no entry there would abstain without anyone having
decided so; `rasa data validate` cannot see it, since the answers are sent by action_route.
This finds, with PyYAML and the standard library alone (it runs in either environment):

- an intent of the NLU data or the domain with no answer and no routing entry;
- a routing entry naming a response that domain.yml does not have, or a coded answer that
  actions/answers.py does not have, or an intent the domain does not have;
- an intent of the NLU data missing from domain.yml `intents:`, or with no rule in data/
  sending it to action_route (Rasa would then never run the routing for it);
- the placeholder intent of the review file (`TODO_…`, bridge/learning/review.py), moved into
  data/ without being named.

docs/learning.md ("Adding a new intent") is the recipe these checks follow.
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
# What `make review` files a group of messages under until a maintainer names its intent
# (bridge/learning/review.py PLACEHOLDER_PREFIX; a test keeps the two the same).
PLACEHOLDER_PREFIX = "TODO_"
ROUTE_ACTION = "action_route"
# Intents Rasa itself produces: never in the domain or the training data.
RASA_INTENTS = frozenset({"nlu_fallback"})
CODE = "code"  # an answer of actions/answers.py CODED
POLICY = "policy"  # `policy <topic>`: the shop's own text on a topic
RESPONSE_PREFIX = "utter_"


@dataclass
class Project:
    """What the project files declare about intents."""

    root: Path
    domain_intents: list[str] = field(default_factory=list)
    responses: set[str] = field(default_factory=set)
    nlu: dict[str, list[str]] = field(default_factory=dict)  # intent -> files (relative)
    examples: list[tuple[str, str]] = field(default_factory=list)  # (text, intent)
    ruled: set[str] = field(default_factory=set)  # intents a rule sends to action_route
    answer: dict[str, str] = field(default_factory=dict)  # routing.yml: intent -> answer
    handoff: dict[str, str] = field(default_factory=dict)
    abstain: list[str] = field(default_factory=list)
    coded: set[str] | None = None  # CODED keys of actions/answers.py; None: no such table


def _yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _name(entry: Any) -> str:
    """`- greet` or `- greet: {use_entities: …}` in a domain's intents."""
    return entry if isinstance(entry, str) else str(next(iter(entry)))


def _examples(block: dict[str, Any]) -> list[str]:
    """The texts of an NLU block: the `|` string of `- ` lines, or a list of `text:` items."""
    examples = block.get("examples")
    if isinstance(examples, str):
        lines = [line.strip() for line in examples.splitlines()]
        return [line[2:].strip() for line in lines if line.startswith("- ")]
    if isinstance(examples, list):
        return [str(e.get("text") or "") for e in examples if isinstance(e, dict)]
    return []


def _answer_table(routing: dict[str, Any]) -> dict[str, str]:
    answer = routing.get("answer") or {}
    if isinstance(answer, list):  # the older form: names only
        return {str(i): "" for i in answer}
    return {str(k): "" if v is None else str(v) for k, v in answer.items()}


def _tables(answers_py: Path) -> dict[str, set[str]]:
    """The string keys of each module-level dict display in actions/answers.py, read without
    importing it (it needs rasa-sdk)."""
    tables: dict[str, set[str]] = {}
    for node in ast.parse(answers_py.read_text(encoding="utf-8")).body:
        target: ast.expr | None = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and isinstance(value, ast.Dict):
            keys = [k.value for k in value.keys if isinstance(k, ast.Constant)]
            tables[target.id] = {k for k in keys if isinstance(k, str)}
    return tables


def coded_answers(answers_py: Path) -> set[str] | None:
    """The intents actions/answers.py answers in code: CODED, and SPLIT (an intent told apart
    into two coded requests by its words). None: the file has no CODED table."""
    tables = _tables(answers_py)
    if "CODED" not in tables:
        return None
    return tables["CODED"] | tables.get("SPLIT", set())


def load(root: Path = ROOT) -> Project:
    project = Project(root)
    domain = _yaml(root / "domain.yml") or {}
    project.domain_intents = [_name(i) for i in domain.get("intents") or []]
    project.responses = set(domain.get("responses") or {})
    for path in sorted((root / "data").rglob("*.yml")):
        data = _yaml(path)
        if not isinstance(data, dict):
            continue
        where = str(path.relative_to(root))
        for block in data.get("nlu") or []:
            if isinstance(block, dict) and block.get("intent"):
                intent = str(block["intent"])
                files = project.nlu.setdefault(intent, [])
                if where not in files:
                    files.append(where)
                project.examples.extend((t, intent) for t in _examples(block) if t)
        for rule in data.get("rules") or []:
            steps = (rule.get("steps") or []) if isinstance(rule, dict) else []
            intents = {str(s["intent"]) for s in steps if isinstance(s, dict) and "intent" in s}
            if any(isinstance(s, dict) and s.get("action") == ROUTE_ACTION for s in steps):
                project.ruled |= intents
    routing = _yaml(root / "bot" / "routing.yml") or {}
    project.answer = _answer_table(routing)
    project.handoff = {str(k): str(v) for k, v in (routing.get("handoff") or {}).items()}
    project.abstain = [str(i) for i in routing.get("abstain") or []]
    answers_py = root / "actions" / "answers.py"
    project.coded = coded_answers(answers_py) if answers_py.is_file() else None
    return project


def training_examples(root: Path = ROOT) -> list[tuple[str, str]]:
    """(text, intent) of every NLU example under data/."""
    return load(root).examples


def is_placeholder(intent: str) -> bool:
    return intent.startswith(PLACEHOLDER_PREFIX)


def answer_problem(intent: str, how: str, project: Project) -> str | None:
    """What is wrong with `answer: {intent: how}`, or None."""
    where = "bot/routing.yml"
    if how.startswith(RESPONSE_PREFIX):
        if how not in project.responses:
            return (
                f"{where}: `{intent}` is answered with `{how}`, which domain.yml `responses:` "
                "does not have: add its wording there"
            )
        return None
    if how == CODE:
        if project.coded is None or intent not in project.coded:
            return (
                f"{where}: `{intent}: code` but actions/answers.py CODED has no `{intent}`: "
                "write its answer there, or name a response (`utter_…`) instead"
            )
        return None
    if how.split()[0:1] == [POLICY] and len(how.split()) == 2:
        return None
    return (
        f"{where}: `{intent}: {how or '(nothing)'}` is not an answer: give a response of "
        "domain.yml (`utter_…`), `policy <topic>` or `code`"
    )


def problems(root: Path = ROOT) -> list[str]:
    """Every problem found, one sentence each (empty: nothing to fix)."""
    project = load(root)
    out: list[str] = []
    routed = set(project.answer) | set(project.handoff) | set(project.abstain)
    domain = set(project.domain_intents)
    intents = list(dict.fromkeys([*project.domain_intents, *sorted(project.nlu)]))
    for intent in intents:
        files = ", ".join(project.nlu.get(intent) or []) or "domain.yml"
        if is_placeholder(intent):
            out.append(
                f"{files}: `{intent}` is the review file's placeholder: name the intent "
                "(docs/learning.md, Adding a new intent)"
            )
            continue
        if intent not in routed:
            out.append(
                f"{files}: `{intent}` has no answer and no routing entry: add "
                f"`{intent}: utter_{intent}` under `answer:` in bot/routing.yml and the response "
                f"`utter_{intent}` in domain.yml (or route it under `handoff:` or `abstain:`)"
            )
        if intent in project.nlu and intent not in domain:
            out.append(f"{files}: `{intent}` is not in domain.yml `intents:`")
        if intent in project.nlu and intent not in project.ruled:
            out.append(
                f"{files}: no rule in data/ sends `{intent}` to {ROUTE_ACTION}: add "
                f"`- rule: route {intent}` to data/rules.yml like the others"
            )
    for intent, how in project.answer.items():
        if (problem := answer_problem(intent, how, project)) is not None:
            out.append(problem)
    for intent in sorted(routed - domain - set(project.nlu) - RASA_INTENTS):
        out.append(
            f"bot/routing.yml routes `{intent}`, which is neither in domain.yml nor in the "
            "training data (a typo?)"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="the project (default: this one)")
    args = parser.parse_args(argv)
    found = problems(args.root)
    for problem in found:
        print(problem)
    if found:
        print(f"{len(found)} problem(s): see docs/learning.md, Adding a new intent")
        return 1
    print("every intent has an answer or a route (bot/routing.yml)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
