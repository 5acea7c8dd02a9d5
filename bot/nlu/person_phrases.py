"""The hand-kept lexicon of requests for a person (bot/nlu/person_phrases.yml), in many
languages: a phrase found in a message is a request, whatever the classifier scored it.

Beside fixed phrases, a language may list `patterns`: regular expressions for the shape of a
request inside a longer message ("…, put me through to an agent"). Pure text matching, no
Rasa: the detector (person_request.py) and the unit tests share it. Both sides are folded the
same way (NFKC, lower case, accents dropped), so "operadór", "operador" and "OPERADOR" are one
word. Phrases written in a script with spaces between words match from the start of a word
and may run on ("оператор" finds "оператором", "temsilci" finds "temsilciyle"); phrases in
scripts without spaces (Chinese, Japanese, Thai, Korean particles, Arabic prefixes) match
anywhere.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

PHRASES_FILE = Path(__file__).with_name("person_phrases.yml")
# Words that may surround a one-word request without changing it ("human please", "an
# agent now!!", "i want operator").
FILLERS = frozenset(
    "please pls plz plss now asap a an the real live actual me i want need get give "
    "hi hello hey ok okay just some one to talk speak with".split()
)
_SPACED_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")
# A one-word request may have one slip from this many letters on, two from TWO_SLIP_LETTERS.
MIN_SLIP_LETTERS = 5
TWO_SLIP_LETTERS = 10


def fold(text: str) -> str:
    """Lower case, compatibility forms unified and accents dropped."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", kept)


def _words(text: str) -> list[str]:
    """Words split on spaces and punctuation. Not `\\w+`: that would cut Thai and Devanagari
    words at their vowel signs."""
    cleaned = "".join(" " if unicodedata.category(c)[0] in "PSZ" else c for c in text)
    return cleaned.split()


def _squeeze(word: str) -> str:
    """A letter repeated in a row counts once ("humaaan" -> "human", "staff" -> "staf")."""
    return re.sub(r"(.)\1+", r"\1", word)


def _close(a: str, b: str, slips: int) -> bool:
    """At most `slips` letters added, dropped, changed or swapped between `a` and `b`
    (Damerau-Levenshtein distance, stopped early)."""
    if abs(len(a) - len(b)) > slips:
        return False
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        if min(current) > slips:
            return False
        before, previous = previous, current
    return previous[-1] <= slips


def _spaced(phrase: str) -> bool:
    """Whether a phrase is written in a script that separates words with spaces."""
    letters = [c for c in phrase if c.isalpha()]
    return bool(letters) and all(
        unicodedata.name(c, "").startswith(_SPACED_SCRIPTS) for c in letters
    )


def _pattern(phrase: str) -> str:
    escaped = re.escape(phrase)
    return rf"(?<!\w){escaped}" if _spaced(phrase) else escaped


@dataclass(frozen=True)
class PersonPhrases:
    phrases: tuple[str, ...]  # folded; found anywhere (see the module docstring)
    alone: frozenset[str]  # folded; a request only when the message is just this word
    _search: re.Pattern[str]
    # The shape of a request in a longer message, as regular expressions on the folded text.
    patterns: tuple[re.Pattern[str], ...] = ()
    # Built once from `alone`: each word with its held letters counted once ("humaaan"), and
    # the words long enough to allow a slip, in a fixed order.
    _held: dict[str, str] = field(default_factory=dict)
    _slip_tolerant: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, data: dict) -> PersonPhrases:
        phrases: set[str] = set()
        alone: set[str] = set()
        patterns: list[re.Pattern[str]] = []
        for entry in (data.get("languages") or {}).values():
            phrases.update(fold(p).strip() for p in entry.get("phrases") or () if p.strip())
            alone.update(fold(w).strip() for w in entry.get("alone") or () if w.strip())
            patterns.extend(re.compile(p) for p in entry.get("patterns") or ())
        ordered = tuple(sorted(phrases, key=len, reverse=True))  # longest wins the report
        search = re.compile("|".join(_pattern(p) for p in ordered) or r"(?!)")
        held: dict[str, str] = {}
        for word in sorted(alone):
            held.setdefault(_squeeze(word), word)
        tolerant = tuple(w for w in sorted(alone) if len(w) >= MIN_SLIP_LETTERS)
        return cls(ordered, frozenset(alone), search, tuple(patterns), held, tolerant)

    @classmethod
    def load(cls, path: Path = PHRASES_FILE) -> PersonPhrases:
        with path.open(encoding="utf-8") as fh:
            return cls.from_mapping(yaml.safe_load(fh) or {})

    def _alone(self, word: str) -> str | None:
        """The one-word request `word` is, allowing for how people type one word in a hurry:
        a letter held down ("humaaan") or one slip in a longer word ("representitive",
        "opertor"); two slips from ten letters on."""
        if word in self.alone:
            return word
        if held := self._held.get(_squeeze(word)):
            return held
        for known in self._slip_tolerant:
            if _close(word, known, 2 if len(known) >= TWO_SLIP_LETTERS else 1):
                return known
        return None

    def match(self, text: str) -> str | None:
        """The phrase or word that makes `text` a request for a person, if any."""
        folded = fold(text)
        found = self._search.search(folded)
        if found:
            return found.group(0)
        for pattern in self.patterns:
            if shaped := pattern.search(folded):
                return shaped.group(0)
        words = [w for w in _words(folded) if w not in FILLERS]
        if len(words) == 1 and (word := self._alone(words[0])):
            return word
        if not words and folded.strip() in self.alone:
            return folded.strip()
        return None
