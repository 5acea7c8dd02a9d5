"""Its own detector, and its own bar, for "let me talk to a person" (issue 15).

Missing a request for a person costs far more than a needless handoff, so the request is not
left to the intent classifier's general confidence floor. This component scores every message
with a binary classifier of its own (person request or not, trained on the same features as
the intent classifier: the handoff intents against all the others, classes balanced) and looks
it up in the hand-kept lexicon of person phrases in many languages (person_phrases.py). It
adds `person_request` to the parse result:

    {"score": 0.0-1.0, "threshold": <this component's bar>, "phrase": <lexicon hit or null>,
     "requested": a phrase was found, or score >= threshold in a message not in another
                  language (language.py runs first; the classifier knows English only)}

action_route hands over on `requested` before anything else, at any turn. The bar is chosen
from the precision/recall curve on held-out wording (docs/evaluation.md, the chart).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack, vstack
from sklearn.linear_model import LogisticRegression

from bot.nlu.language import LANGUAGE
from bot.nlu.person_phrases import PHRASES_FILE, PersonPhrases

log = logging.getLogger(__name__)

PERSON_REQUEST = "person_request"
# Asking for customer service is asking for a person too.
PERSON_INTENTS = ("contact_human_agent", "contact_customer_service")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class PersonRequestDetector(GraphComponent):
    @classmethod
    def required_components(cls) -> list[type]:
        return [Featurizer]

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn", "skops"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "threshold": 0.5,
            "intents": list(PERSON_INTENTS),
            "max_iter": 500,
            "C": 1.0,
            "random_state": 42,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        classifier: LogisticRegression | None = None,
        phrases: PersonPhrases | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._storage = model_storage
        self._resource = resource
        self._classifier = classifier
        # A trained model keeps the lexicon it was trained with (so a candidate and the current
        # model compare as they are); a new one reads the repository's.
        self._phrases = phrases or PersonPhrases.load()

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> PersonRequestDetector:
        return cls(config, model_storage, resource)

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """The lexicon is part of what is trained: an edit to it retrains this component
        instead of reusing Rasa's cached one with the old phrases."""
        return hashlib.sha256(PHRASES_FILE.read_bytes()).hexdigest()

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if not 0.0 < float(config.get("threshold", 0.5)) < 1.0:
            raise ValueError("PersonRequestDetector threshold must lie between 0 and 1")

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        wanted = set(self._config["intents"])
        labels = np.array([e.get(INTENT) in wanted for e in examples], dtype=int)
        if not examples or labels.min() == labels.max():
            log.warning("no person requests (or nothing else) to train on; only phrases count")
            self._persist()
            return self._resource
        classifier = LogisticRegression(
            C=self._config["C"],
            class_weight="balanced",
            max_iter=self._config["max_iter"],
            random_state=self._config["random_state"],
        )
        classifier.fit(_features(examples), labels)
        self._classifier = classifier
        self._persist()
        return self._resource

    def _persist(self) -> None:
        import skops.io as sio

        with self._storage.write_to(self._resource) as directory:
            (directory / PHRASES_FILE.name).write_bytes(PHRASES_FILE.read_bytes())
            if self._classifier is not None:
                sio.dump(self._classifier, directory / "person_request.skops")

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> PersonRequestDetector:
        import skops.io as sio

        classifier, phrases = None, None
        try:
            with model_storage.read_from(resource) as directory:
                path = directory / "person_request.skops"
                if path.exists():
                    # A plain LogisticRegression: anything else in the file is refused.
                    classifier = sio.load(path, trusted=[])
                phrases = PersonPhrases.load(directory / PHRASES_FILE.name)
        except (ValueError, OSError):
            log.warning("the model has no person-request lexicon; using the repository's")
        return cls(config, model_storage, resource, classifier, phrases)

    def process(self, messages: list[Message]) -> list[Message]:
        with_text = [m for m in messages if m.get(TEXT)]
        scores = (
            self._classifier.predict_proba(_features(with_text))[:, 1]
            if with_text and self._classifier is not None
            else np.zeros(len(with_text))
        )
        threshold = float(self._config["threshold"])
        for message, score in zip(with_text, scores, strict=True):
            phrase = self._phrases.match(message.get(TEXT))
            # The classifier knows English; in another language only the lexicon speaks (the
            # message goes to a person anyway, as not answered in its language).
            trusted = not (message.get(LANGUAGE) or {}).get("foreign")
            message.set(
                PERSON_REQUEST,
                {
                    "score": round(float(score), 4),
                    "threshold": threshold,
                    "phrase": phrase,
                    "requested": phrase is not None or (trusted and float(score) >= threshold),
                },
                add_to_output=True,
            )
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


def _features(messages: list[Message]) -> csr_matrix:
    """The sentence's sparse and dense features side by side, as the intent classifier
    (LogisticRegressionClassifier) builds them."""
    rows = []
    for message in messages:
        sparse = message.get_sparse_features(attribute=TEXT)[1]
        dense = message.get_dense_features(attribute=TEXT)[1]
        rows.append(
            hstack(
                [
                    csr_matrix(sparse.features if sparse else []),
                    csr_matrix(dense.features if dense else []),
                ]
            )
        )
    return vstack(rows)
