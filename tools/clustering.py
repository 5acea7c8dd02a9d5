"""Group short customer messages by what they are about, and find the training examples
nearest each group (`make review`, tools/review.py).

The classifier's guess is no topic: gift cards, Black Friday and bitcoin were all
"out_of_scope". The texts are grouped by their meaning instead, in one of two ways:

- **semantic** (the default, when the Rasa environment is installed): the sentence embedding
  the assistant's classifier already uses (all-MiniLM-L6-v2, bot/nlu/minilm_featurizer.py), so
  "promo code invalid" and "the coupon isn't working" are one group. It runs in the Rasa
  environment (`semantic()`); the bridge environment's tools/review.py calls it through
  `python -m tools.clustering` (`group()`). The training examples' vectors are cached in
  .run/review/ (they change only with the training data).
- **lexical** (`--lexical`, or when the Rasa environment cannot embed): the standard library
  alone. TF-IDF vectors of the words and of the character n-grams inside the words ("giftcard",
  "gift cards" and "gift-card" are close), document frequencies counted over the training
  examples and the texts together, so words every request has ("can", "you", "order") weigh
  little and a topic's own words much. Synonyms stay apart ("parcel" / "package").

Either way the groups are average-linkage clusters cut at a cosine distance: a text joins a
group when it is, on average, close to all of its texts, not merely to one of them. The result
depends only on the texts and their order (ties go to the earlier text), so the same review
data gives the same file. Each group's label is made of its most characteristic words.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RASA_PYTHON = ROOT / ".venvs" / "rasa" / "bin" / "python"
CACHE = ROOT / ".run" / "review"

# Cosine distances under which two groups merge (average linkage), chosen on paraphrases of
# new topics (tests/unit/test_clustering.py, tests/learning/test_review.py). Sentence
# embeddings: two wordings of one request are 0.15-0.55 apart, of two topics 0.7-0.8 on
# average (gift cards / Black Friday / bitcoin). Words and n-grams: one request's wordings
# 0.35-0.9 apart, about 0.6 on average. A shared frame brings two requests closer ("can I pay
# with bitcoin" / "can I pay with a gift card": 0.48 and 0.64): the average over a group, not
# the closest pair, keeps them apart when each topic has a few messages.
SEMANTIC_THRESHOLD = 0.5
LEXICAL_THRESHOLD = 0.8
# Lexical: the weight of the character n-grams against the whole words.
CHAR_WEIGHT = 0.65
CHAR_NGRAMS = (3, 4, 5)
NEIGHBOURS = 3
SEMANTIC = "semantic"
LEXICAL = "lexical"
METHODS = {
    SEMANTIC: "by meaning, with the classifier's MiniLM sentence embedding",
    LEXICAL: "by words, with TF-IDF of words and character n-grams",
}

Vector = dict[str, float]

# Words that never name a topic (for the labels; the similarity weighs words by frequency).
STOP_WORDS = frozenset(
    """
    a about above after again all also am an and any anyone anything are as at be been before
    being below between both but by can cannot could did do does doing don done down during
    each either else even ever every few for from further get gets getting give go going got
    had has have having he her here hers him his how i if in into is it its itself just know
    let like ll me might mine more most much must my myself need needs no nor not now of off
    on once one only or other our ours out over own please pls possible re really s same say
    see she should so some someone something still such t than thank thanks that the their
    them then there these they thing things this those through to too try trying u under
    until up us use using ve very via want wanted wants was way we well were what whats when
    where whether which while who whom why will wish with within without would yes yet you
    your yours yourself hi hello hey okay ok tell wondering question ask asking help make
    """.split()
)

_WORD = re.compile(r"[^\W_]+")
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class Grouping:
    """Groups of `texts` (indices, increasing, groups ordered by their first text) and, for
    each group, its nearest training examples: (index into the examples, cosine similarity)."""

    method: str  # SEMANTIC | LEXICAL
    groups: list[list[int]]
    neighbours: list[list[tuple[int, float]]]
    # The nearest examples of each group given as it is (`fixed`), in its order.
    fixed_neighbours: list[list[tuple[int, float]]] = field(default_factory=list)
    note: str = ""  # why the lexical method was used instead, if it was

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "groups": self.groups,
            "neighbours": self.neighbours,
            "fixed_neighbours": self.fixed_neighbours,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Grouping:
        def found(rows: list[Any]) -> list[list[tuple[int, float]]]:
            return [[(int(i), float(s)) for i, s in n] for n in rows]

        return cls(
            str(data["method"]),
            [[int(i) for i in g] for g in data["groups"]],
            found(data["neighbours"]),
            found(data.get("fixed_neighbours") or []),
        )


def words(text: str) -> list[str]:
    """Lower-case words; a number is `0` (order numbers say nothing about the topic)."""
    return [_DIGITS.sub("0", w) for w in _WORD.findall(text.lower())]


def stem(word: str) -> str:
    """A plural counts as its singular ("cards" = "card"); nothing more clever."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def wording(text: str) -> str:
    """Texts with the same words in the same order are one wording."""
    return " ".join(words(text))


# --- average linkage ---------------------------------------------------------------------


def cluster(distance: list[list[float]], threshold: float) -> list[list[int]]:
    """Average-linkage clusters of the items of a symmetric `distance` matrix (changed in
    place) whose members are on average closer than `threshold`: lists of indices, each
    increasing, ordered by their first index.

    The nearest-neighbour chain algorithm (O(n²) time), then the merges below the threshold:
    average linkage never merges at a smaller distance than an earlier merge, so the cut gives
    what merging the closest pair first, again and again, would give.
    """
    n = len(distance)
    size = [1] * n
    alive = [True] * n
    active = list(range(n))
    merges: list[tuple[float, int, int]] = []
    chain: list[int] = []
    while len(active) > 1:
        if not chain:
            chain.append(active[0])
        a = chain[-1]
        previous = chain[-2] if len(chain) > 1 else -1
        row = distance[a]
        best, best_d = -1, math.inf
        for x in active:
            if x != a and (row[x] < best_d or (row[x] == best_d and x == previous)):
                best, best_d = x, row[x]
        if best != previous:
            chain.append(best)
            continue
        del chain[-2:]
        keep, gone = min(a, best), max(a, best)
        merges.append((best_d, keep, gone))
        total = size[keep] + size[gone]
        for x in active:
            if x != keep and x != gone:
                d = (size[keep] * distance[keep][x] + size[gone] * distance[gone][x]) / total
                distance[keep][x] = distance[x][keep] = d
        size[keep] = total
        alive[gone] = False
        active = [x for x in active if alive[x]]
    parent = list(range(n))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for d, keep, gone in sorted(merges):
        if d < threshold:
            ra, rb = root(keep), root(gone)
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def _top(
    scored: Sequence[tuple[int, float]], examples: Sequence[str], k: int
) -> list[tuple[int, float]]:
    """The `k` best (example, similarity), one per wording; ties: the earlier example."""
    out: list[tuple[int, float]] = []
    seen: set[str] = set()
    for i, score in sorted(scored, key=lambda item: (-item[1], item[0])):
        key = wording(examples[i])
        if key not in seen:
            seen.add(key)
            out.append((i, round(score, 4)))
            if len(out) == k:
                break
    return out


# --- lexical: the standard library alone ---------------------------------------------------


def _features(text: str) -> tuple[Counter[str], Counter[str]]:
    tokens = words(text)
    chars: Counter[str] = Counter()
    for token in tokens:
        padded = f" {token} "
        for n in CHAR_NGRAMS:
            chars.update(padded[i : i + n] for i in range(max(1, len(padded) - n + 1)))
    return Counter(stem(t) for t in tokens), chars


def _unit(vector: Vector) -> Vector:
    norm = math.sqrt(sum(v * v for v in vector.values()))
    return {f: v / norm for f, v in vector.items()} if norm else {}


class Vectorizer:
    """TF-IDF over words and in-word character n-grams, document frequencies from `corpus`."""

    def __init__(self, corpus: Sequence[str]) -> None:
        word_df: Counter[str] = Counter()
        char_df: Counter[str] = Counter()
        for text in corpus:
            w, c = _features(text)
            word_df.update(w.keys())
            char_df.update(c.keys())
        self.documents = len(corpus)
        self._unseen = self._idf(0)
        self._word_idf = {f: self._idf(df) for f, df in word_df.items()}
        self._char_idf = {f: self._idf(df) for f, df in char_df.items()}

    def _idf(self, df: int) -> float:
        return math.log((1 + self.documents) / (1 + df)) + 1.0

    def word_idf(self, word: str) -> float:
        return self._word_idf.get(stem(word), self._unseen)

    def vector(self, text: str) -> Vector:
        """Unit length; the character part weighs CHAR_WEIGHT in the cosine, words the rest."""
        w, c = _features(text)
        word_part = _unit({f: (1 + math.log(n)) * self.word_idf(f) for f, n in w.items()})
        char_part = _unit(
            {f: (1 + math.log(n)) * self._char_idf.get(f, self._unseen) for f, n in c.items()}
        )
        a, b = math.sqrt(CHAR_WEIGHT), math.sqrt(1.0 - CHAR_WEIGHT)
        vector = {"w:" + f: b * v for f, v in word_part.items()}
        vector.update(("c:" + f, a * v) for f, v in char_part.items())
        return _unit(vector)


def cosine(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b[f] for f, v in a.items() if f in b)


def centroid(vectors: Sequence[Vector]) -> Vector:
    total: dict[str, float] = {}
    for vector in vectors:
        for f, v in vector.items():
            total[f] = total.get(f, 0.0) + v
    return _unit(total)


def lexical(
    texts: Sequence[str],
    examples: Sequence[str],
    threshold: float = LEXICAL_THRESHOLD,
    k: int = NEIGHBOURS,
    fixed: Sequence[Sequence[str]] = (),
) -> Grouping:
    """`texts` grouped, and the nearest `examples` of each group and of each `fixed` group."""
    vectorizer = Vectorizer([*examples, *texts, *(t for g in fixed for t in g)])
    vectors = [vectorizer.vector(t) for t in texts]
    n = len(vectors)
    distance = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            distance[i][j] = distance[j][i] = 1.0 - cosine(vectors[i], vectors[j])
    groups = cluster(distance, threshold)
    postings: dict[str, list[tuple[int, float]]] = {}
    for i, text in enumerate(examples):
        for f, v in vectorizer.vector(text).items():
            postings.setdefault(f, []).append((i, v))

    def nearest(members: list[Vector]) -> list[tuple[int, float]]:
        scores: dict[int, float] = {}
        for f, v in centroid(members).items():
            for i, w in postings.get(f, ()):
                scores[i] = scores.get(i, 0.0) + v * w
        return _top(list(scores.items()), examples, k)

    return Grouping(
        LEXICAL,
        groups,
        [nearest([vectors[i] for i in g]) for g in groups],
        [nearest([vectorizer.vector(t) for t in g]) for g in fixed],
    )


# --- semantic: the classifier's own sentence embedding (Rasa environment) ------------------


def semantic(
    texts: Sequence[str],
    examples: Sequence[str],
    threshold: float = SEMANTIC_THRESHOLD,
    k: int = NEIGHBOURS,
    fixed: Sequence[Sequence[str]] = (),
    cache: Path | None = CACHE,
) -> Grouping:
    """As `lexical`, with sentence embeddings. Needs the Rasa environment (numpy, onnxruntime
    and the MiniLM network)."""
    import numpy as np

    from bot.nlu.minilm_featurizer import MODEL_SHA256, MiniLMEncoder

    encoder = MiniLMEncoder(max_tokens=64, threads=2)  # fixed: the same sums every run
    everything = [*texts, *(t for g in fixed for t in g)]
    encoded = encoder.encode(everything) if everything else np.zeros((0, 384), np.float32)
    vectors = encoded[: len(texts)]
    known = _cached_examples(encoder, list(examples), MODEL_SHA256, cache)
    groups = cluster((1.0 - vectors @ vectors.T).astype(float).tolist(), threshold)

    def nearest(members: Any) -> list[tuple[int, float]]:
        if not len(known) or not len(members):
            return []
        centre = members.mean(axis=0)
        scores = known @ (centre / (np.linalg.norm(centre) or 1.0))
        best = np.argsort(-scores, kind="stable")[: max(k * 10, 50)]
        return _top([(int(i), float(scores[i])) for i in best], examples, k)

    fixed_vectors, at = [], len(texts)
    for g in fixed:
        fixed_vectors.append(encoded[at : at + len(g)])
        at += len(g)
    return Grouping(
        SEMANTIC,
        groups,
        [nearest(vectors[g]) for g in groups],
        [nearest(v) for v in fixed_vectors],
    )


def _cached_examples(encoder: Any, examples: list[str], model: str, cache: Path | None) -> Any:
    """The training examples' vectors, from .run/review/ when the examples are unchanged."""
    import numpy as np

    if not examples:
        return np.zeros((0, 384), dtype=np.float32)
    digest = hashlib.sha256("\n".join([model, *examples]).encode()).hexdigest()[:20]
    path = cache / f"minilm-examples-{digest}.npy" if cache is not None else None
    if path is not None and path.is_file():
        return np.load(path)
    vectors = encoder.encode(examples).astype(np.float32)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob("minilm-examples-*.npy"):
            old.unlink(missing_ok=True)
        np.save(path, vectors)
    return vectors


def group(
    texts: Sequence[str],
    examples: Sequence[str],
    method: str = SEMANTIC,
    fixed: Sequence[Sequence[str]] = (),
    rasa_python: Path = RASA_PYTHON,
) -> Grouping:
    """Group `texts` and find the nearest examples (of `fixed` groups too): semantically in the
    Rasa environment when asked and possible (this process may be the bridge's), else
    lexically here."""
    if method == SEMANTIC and (texts or fixed):
        note = ""
        if not rasa_python.is_file():
            note = f"no Rasa environment at {rasa_python}"
        else:
            try:
                return _semantic_there(texts, examples, fixed, rasa_python)
            except (OSError, ValueError, KeyError, subprocess.SubprocessError) as exc:
                note = f"the Rasa environment could not embed the texts ({exc})"
        found = lexical(texts, examples, fixed=fixed)
        return Grouping(found.method, found.groups, found.neighbours, found.fixed_neighbours, note)
    return lexical(texts, examples, fixed=fixed)


def _semantic_there(
    texts: Sequence[str], examples: Sequence[str], fixed: Sequence[Sequence[str]], python: Path
) -> Grouping:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "RASA_TELEMETRY_ENABLED": "false"}
    request = {"texts": list(texts), "examples": list(examples), "fixed": [list(g) for g in fixed]}
    done = subprocess.run(
        [str(python), "-m", "tools.clustering"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=900,
    )
    answer = done.stdout.strip().splitlines()
    if done.returncode != 0 or not answer:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise ValueError(f"exit status {done.returncode}: {last}")
    return Grouping.from_json(json.loads(answer[-1]))


# --- labels -------------------------------------------------------------------------------


def label(texts: Sequence[str], vectorizer: Vectorizer, most: int = 3) -> list[str]:
    """The group's most characteristic words: in many of its texts and rare elsewhere, in the
    order they are usually said ("black friday", not "friday black")."""
    share: Counter[str] = Counter()
    forms: dict[str, Counter[str]] = {}
    position: dict[str, list[float]] = {}
    for text in texts:
        tokens = [t for t in words(text) if t not in STOP_WORDS and not t.isdigit() and len(t) > 1]
        for at, token in enumerate(tokens):
            forms.setdefault(stem(token), Counter())[token] += 1
            position.setdefault(stem(token), []).append(at / max(1, len(tokens)))
        share.update({stem(t) for t in tokens})
    if not share:
        return []
    scored = sorted(
        ((share[s] / len(texts) * vectorizer.word_idf(s), s) for s in share),
        key=lambda item: (-item[0], item[1]),
    )
    best = scored[0][0]
    chosen = [s for score, s in scored[:most] if score >= 0.6 * best]
    chosen.sort(key=lambda s: (sum(position[s]) / len(position[s]), s))
    return [forms[s].most_common(1)[0][0] for s in chosen]


def main() -> int:
    """`python -m tools.clustering` in the Rasa environment: {"texts", "examples", "fixed"} as
    JSON on stdin, the semantic grouping as one JSON line on stdout."""
    request = json.load(sys.stdin)
    grouping = semantic(request["texts"], request["examples"], fixed=request.get("fixed") or [])
    print(json.dumps(grouping.to_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
