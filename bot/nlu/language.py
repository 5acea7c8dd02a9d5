"""Detects the customer's language and adds `language` to the parse result (issue 15):

    {"code": "ru", "confidence": 0.97, "foreign": true}

action_route hands a `foreign` message to a person at once, and the bridge tells the customer
so in their own language. Detection is lingua (github.com/pemistahl/lingua-py, Apache-2.0,
its n-gram models inside the PyPI wheel, ~96 MB; nothing is downloaded), limited to the
languages configured here so that rare look-alikes do not steal short English messages. The
decision rules are in language_guess.py.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.language_guess import decide

LANGUAGE = "language"
# English and the languages most used by online shoppers (bridge/texts/languages.py has what
# the bridge says in each).
DEFAULT_LANGUAGES = (
    "en zh es ar pt id fr ja ru de hi ko tr it vi pl nl th fa uk sv ms bn he el cs ro hu"
).split()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class LanguageDetector(GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"languages": list(DEFAULT_LANGUAGES)}

    @staticmethod
    def required_packages() -> list[str]:
        return ["lingua"]

    def __init__(self, config: dict[str, Any]) -> None:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

        codes = {**self.get_default_config(), **config}["languages"]
        languages = [
            Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in codes
        ]
        # Preloaded: the first customer must not wait for the models to load (~3 s).
        self._detector = (
            LanguageDetectorBuilder.from_languages(*languages)
            .with_preloaded_language_models()
            .build()
        )

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        return cls(config)

    def confidences(self, text: str) -> dict[str, float]:
        return {
            value.language.iso_code_639_1.name.lower(): value.value
            for value in self._detector.compute_language_confidence_values(text)
        }

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text:
                guess = decide(text, self.confidences(text))
                message.set(LANGUAGE, guess.as_dict(), add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
