"""tools/clustering.py's lexical grouping (the standard library alone; `make review --lexical`
and the fallback without the Rasa environment). The semantic one is tested with the review
file in tests/learning/test_review.py."""

from __future__ import annotations

import random
from pathlib import Path

from tools import answer_check, clustering

TOPICS = {
    "gift": [
        "do you sell gift cards",
        "can I buy a gift card for my sister",
        "gift voucher available?",
        "how do I redeem a gift card",
        "is there an e-gift card I can send by email",
    ],
    "black friday": [
        "when does the black friday sale start",
        "any black friday discounts this year?",
        "will you have deals on Black Friday",
        "black friday offers",
    ],
    "bitcoin": [
        "can I pay with bitcoin",
        "do you accept bitcoin",
        "bitcoin payment possible?",
        "do you take cryptocurrency like bitcoin",
    ],
}


def test_three_new_topics_make_three_groups_with_their_words_as_labels() -> None:
    texts = [t for wordings in TOPICS.values() for t in wordings]
    random.Random(7).shuffle(texts)
    examples = answer_check.training_examples()
    found = clustering.lexical(texts, [t for t, _ in examples])
    groups = sorted(sorted(texts[i] for i in g) for g in found.groups)
    assert groups == sorted(sorted(w) for w in TOPICS.values())
    vectorizer = clustering.Vectorizer([t for t, _ in examples] + texts)
    labels = {" ".join(clustering.label([texts[i] for i in g], vectorizer)) for g in found.groups}
    assert {"bitcoin", "black friday"} <= labels and any("gift" in lab for lab in labels), labels
    # Each group has its nearest training examples.
    assert all(len(n) == clustering.NEIGHBOURS for n in found.neighbours)
    # The same texts give the same groups.
    assert clustering.lexical(texts, [t for t, _ in examples]) == found


def test_average_linkage_cuts_at_the_threshold() -> None:
    # 0 and 1 close, 2 close to 1 only: on average too far from the pair to join it.
    distance = [[0.0, 0.1, 0.8], [0.1, 0.0, 0.3], [0.8, 0.3, 0.0]]
    assert clustering.cluster([row[:] for row in distance], 0.5) == [[0, 1], [2]]
    assert clustering.cluster([row[:] for row in distance], 0.6) == [[0, 1, 2]]
    assert clustering.cluster([], 0.5) == []
    assert clustering.cluster([[0.0]], 0.5) == [[0]]


def test_without_the_rasa_environment_the_grouping_is_lexical_and_says_so(tmp_path: Path) -> None:
    texts = [t for wordings in TOPICS.values() for t in wordings]
    examples = [t for t, _ in answer_check.training_examples()]
    found = clustering.group(texts, examples, clustering.SEMANTIC, rasa_python=tmp_path / "none")
    assert found.method == clustering.LEXICAL and "no Rasa environment" in found.note
    assert found.groups == clustering.lexical(texts, examples).groups
