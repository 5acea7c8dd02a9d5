"""Plain `rasa` commands from the repository root work as a Rasa user expects: no flags, no
variables, the same training as `make model`, and never the candidate model by accident."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.processes import RASA_BIN, ROOT, Service, free_port, http_ok
from devstack.stack import MODEL


def _makefile_candidate() -> Path:
    """Where `make train` puts the candidate model (the Makefile's CANDIDATE)."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    found = re.search(r"^CANDIDATE\s*:=\s*(\S+)", text, re.MULTILINE)
    assert found, "the Makefile names no CANDIDATE"
    return ROOT / found.group(1)


CANDIDATE = _makefile_candidate()


def _plain_env() -> dict[str, str]:
    """The environment of someone who just cloned the repository: no RASA_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RASA_REDIS")}
    return env | {"RASA_TELEMETRY_ENABLED": "false"}


def _rasa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RASA_BIN / "rasa"), *args],
        cwd=ROOT,
        env=_plain_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_plain_rasa_train_trains_what_make_model_trained() -> None:
    # `--dry-run` finds config.yml, domain.yml and data/ by Rasa's defaults and compares their
    # fingerprint with the newest model's: nothing to retrain means the same data and pipeline.
    result = _rasa("train", "--dry-run")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "No training of components required" in result.stdout


def test_plain_rasa_data_validate_passes() -> None:
    result = _rasa("data", "validate")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.fixture
def candidate_beside_current(tmp_path: Path) -> Iterator[Path]:
    """A candidate newer than the current model, where `make train` writes it."""
    if CANDIDATE.exists():
        yield CANDIDATE
        return
    CANDIDATE.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(MODEL, CANDIDATE)  # copy() gives it a fresh mtime: the newest model file
    try:
        yield CANDIDATE
    finally:
        CANDIDATE.unlink(missing_ok=True)


def _newest_in_models() -> Path:
    return max((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)


def test_plain_rasa_run_needs_no_redis_and_never_loads_the_candidate(
    tmp_path: Path, candidate_beside_current: Path
) -> None:
    port = free_port()
    # No -m, --credentials or --endpoints: models/, credentials.yml, endpoints.yml.
    rasa = Service(
        "plain-rasa",
        [str(RASA_BIN / "rasa"), "run", "--enable-api", "-i", "127.0.0.1", "-p", str(port)],
        tmp_path,
        env=_plain_env() | {"TF_CPP_MIN_LOG_LEVEL": "2"},
        ready=lambda: http_ok(f"http://127.0.0.1:{port}/status", contains="model_file"),
        ready_timeout_s=240,
    )
    rasa.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=10) as response:
            status = json.load(response)
        loaded = Path(status["model_file"]).name
        assert loaded == _newest_in_models().name
        assert loaded != candidate_beside_current.name
        # The REST channel of credentials.yml: what the bridge talks to.
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/webhooks/rest/webhook",
            data=json.dumps({"sender": "plain-rasa-test", "message": "/greet"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
    finally:
        rasa.stop()


def test_plain_rasa_run_actions_serves_the_actions(tmp_path: Path) -> None:
    port = free_port()
    actions = Service(
        "plain-actions",
        [str(RASA_BIN / "rasa"), "run", "actions", "-p", str(port)],
        tmp_path,
        env=_plain_env() | {"COMMERCE_DB": str(tmp_path / "commerce.sqlite3")},
        ready=lambda: http_ok(f"http://127.0.0.1:{port}/health"),
        ready_timeout_s=120,
    )
    actions.start()
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/actions", headers={"Accept": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            names = {action["name"] for action in json.load(response)}
        assert "action_route" in names
    finally:
        actions.stop()
