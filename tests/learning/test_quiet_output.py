"""`make validate` and `make train` show progress and real problems, never a library's
warnings (those go to the log file they name); a broken data file fails with a clear message.
Both run on a copy of data/ in a temporary directory."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from devstack.processes import ROOT
from tests.learning.conftest import RASA_PYTHON
from tools.quiet import warning_lines

# An example under two intents and an intent the domain lacks: Rasa only warns about both.
MISLABELLED = """version: "3.1"
nlu:
- intent: track_order
  examples: |
    - where has my parcel got to
- intent: get_refund
  examples: |
    - where has my parcel got to
- intent: warranty_question
  examples: |
    - is my kettle still under warranty
"""
# Not YAML: the list item is indented less than the one before it.
BROKEN = """version: "3.1"
nlu:
- intent: track_order
  examples: |
    - where is it
   - bad: [indent
"""


def _copy_of_data(tmp: Path, name: str, content: str) -> Path:
    data = tmp / "data"
    shutil.copytree(ROOT / "data", data)
    (data / "nlu" / name).write_text(content, encoding="utf-8")
    return data


def _tool(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}
    return subprocess.run(
        [str(RASA_PYTHON), "-m", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_validate_shows_the_problems_and_no_library_warning(tmp_path: Path) -> None:
    data = _copy_of_data(tmp_path, "mislabelled.yml", MISLABELLED)
    log = tmp_path / "validate.log"
    done = _tool("tools.validate", "--data", str(data), "--log", str(log))
    shown = done.stdout + done.stderr
    assert done.returncode == 1, shown
    assert warning_lines(shown) == [], shown
    problems = [line.strip() for line in done.stdout.splitlines() if "problem:" in line]
    twice = [p for p in problems if "'where has my parcel got to'" in p]
    assert len(twice) == 1 and "labeled with: get_refund, track_order" in twice[0]
    unknown = [p for p in problems if "intent 'warranty_question'" in p]
    assert len(unknown) == 1 and "not listed in your domain" in unknown[0]
    assert len(problems) == 2, shown  # nothing else: the rest of data/ is fine
    assert "intents, examples and responses: 2 problem(s)" in done.stdout
    assert "== INVALID: 2 problem(s)" in done.stdout
    # The expected notices are counted, not shown; the library warnings are in the log.
    assert "responses sent by action_route, which no rule names" in done.stdout
    assert "utter_greet" not in shown
    assert f"Rasa's full log: {log}" in done.stdout
    logged = log.read_text()
    assert "DeprecationWarning" in logged and "The utterance 'utter_greet'" in logged


def test_a_broken_data_file_stops_validate_and_train_with_rasas_message(tmp_path: Path) -> None:
    data = _copy_of_data(tmp_path, "broken.yml", BROKEN)
    validated = _tool("tools.validate", "--data", str(data), "--log", str(tmp_path / "v.log"))
    assert validated.returncode == 1
    assert f"ERROR: YamlSyntaxException: Failed to read '{data / 'nlu' / 'broken.yml'}'" in (
        validated.stdout
    )
    assert "line 6, column 4" in validated.stdout
    assert warning_lines(validated.stdout + validated.stderr) == []

    model = tmp_path / "models" / "candidate.tar.gz"
    trained = _tool(
        "tools.train", "--out", str(model), "--data", str(data), "--log", str(tmp_path / "t.log")
    )
    shown = trained.stdout + trained.stderr
    assert trained.returncode == 1, shown
    assert f"YamlSyntaxException: Failed to read '{data / 'nlu' / 'broken.yml'}'" in shown
    assert f"training failed: no new model at {model}" in trained.stderr
    assert warning_lines(shown) == [], shown
    assert not model.exists()
