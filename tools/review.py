"""Write the review file: what the assistant could not handle, for a maintainer to label.

    python -m tools.review [--out review/candidates.yml] [--redis-url URL] [--low 0.7]
                           [--lexical]

Reads the bridge's Redis (docs/learning.md). The file is Rasa NLU YAML outside data/, so
training never picks it up until a maintainer moves examples into data/nlu.

The messages are grouped by what they are about (tools/clustering.py): by meaning with the
classifier's sentence embedding, computed in the Rasa environment, or with `--lexical` (or
without that environment) by their words, here. Each group gets the training examples nearest
it. Messages a staff member marked with an intent are grouped under it; handoffs that went as
designed (the customer asked for a person) are listed last, for information.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from redis.asyncio import Redis

from bridge.learning import review
from bridge.learning.turns import LOW_CONFIDENCE
from tools import answer_check, clustering
from tools.learning_cli import ROOT, configured, redis_url

DEFAULT_OUT = ROOT / "review" / "candidates.yml"


async def _collect(url: str, low: float) -> list[review.Candidate]:
    redis = Redis.from_url(url, decode_responses=True)
    try:
        return await review.collect(redis, low)
    finally:
        await redis.aclose()


def arrange(
    candidates: list[review.Candidate],
    project: answer_check.Project,
    low: float = LOW_CONFIDENCE,
    method: str = clustering.SEMANTIC,
) -> tuple[list[review.Group], list[tuple[review.Candidate, str]], clustering.Grouping]:
    """(groups to review, handoffs as designed with why, how the texts were grouped)."""
    information: list[tuple[review.Candidate, str]] = []
    named: dict[str, list[review.Candidate]] = {}
    loose: list[review.Candidate] = []
    for candidate in candidates:
        if why := review.as_designed(candidate, project.handoff, low):
            information.append((candidate, why))
        elif intent := candidate.staff_intent():
            named.setdefault(intent, []).append(candidate)
        else:
            loose.append(candidate)
    # Staff-named groups stay as they are: only their nearest examples are looked up.
    staff_lists = [named[i] for i in sorted(named)]
    examples = project.examples
    example_texts = [t for t, _ in examples]
    texts = [c.text for c in loose]
    fixed = [[c.text for c in group] for group in staff_lists]
    grouping = clustering.group(texts, example_texts, method, fixed)
    vectorizer = clustering.Vectorizer([*example_texts, *texts, *(t for g in fixed for t in g)])
    groups = [
        review.Group(intent, intent, members, _neighbours(found, examples), by_staff=True)
        for intent, members, found in zip(
            sorted(named), staff_lists, grouping.fixed_neighbours, strict=True
        )
    ]
    topics: list[review.Group] = []
    taken: set[str] = set()
    for members, found in zip(grouping.groups, grouping.neighbours, strict=True):
        chosen = [loose[i] for i in members]
        staff = next((c.staff_label() for c in chosen if c.staff_label()), "")
        label = staff or " ".join(clustering.label([c.text for c in chosen], vectorizer))
        topics.append(review.Group("", label, chosen, _neighbours(found, examples)))
    topics.sort(key=lambda g: (-g.seen, -len(g.candidates), g.label))
    for group in topics:
        group.intent = review.placeholder(group.label, taken)
    return groups + topics, information, grouping


def _neighbours(
    found: list[tuple[int, float]], examples: list[tuple[str, str]]
) -> list[review.Neighbour]:
    return [review.Neighbour(examples[i][0], examples[i][1], s) for i, s in found]


def write(url: str, out: Path, low: float, method: str = clustering.SEMANTIC) -> int:
    candidates = asyncio.run(_collect(url, low))
    project = answer_check.load(ROOT)
    started = time.monotonic()
    if candidates and method == clustering.SEMANTIC:
        print(f"grouping {len(candidates)} messages by meaning (in the Rasa environment)...")
    groups, information, grouping = arrange(candidates, project, low, method)
    if grouping.note:
        print(f"note: {grouping.note}; grouped by words instead")
    out.parent.mkdir(parents=True, exist_ok=True)
    text = review.render(
        groups,
        set(project.domain_intents),
        information,
        method=clustering.METHODS[grouping.method],
    )
    out.write_text(text, encoding="utf-8")
    print(
        f"{len(candidates) - len(information)} candidates in {len(groups)} groups, "
        f"{len(information)} handed over as designed (for information), written to {out} "
        f"in {time.monotonic() - started:.0f} s"
    )
    return len(candidates)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--redis-url", help="the bridge's Redis (default: REDIS_URL, .env, make run's)"
    )
    parser.add_argument(
        "--low",
        type=float,
        default=LOW_CONFIDENCE,
        help="answers below this confidence are candidates too",
    )
    parser.add_argument(
        "--lexical",
        action="store_true",
        help="group by words, in this environment (fast; no sentence embedding)",
    )
    args = parser.parse_args()
    url = args.redis_url or redis_url(configured())
    write(url, args.out, args.low, clustering.LEXICAL if args.lexical else clustering.SEMANTIC)
    return 0


if __name__ == "__main__":
    sys.exit(main())
