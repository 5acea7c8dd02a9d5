"""`make forget` and `make review` read the configuration the bridge reads: under `make run`,
the settings `make run` gave its bridge (the local Slack, its Redis), which no shell has."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.__main__ import _write_local_env
from devstack.stack import Ports, Stack
from tools import forget, learning_cli


@pytest.fixture
def make_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """A `make run` stack (not started) that has written its local settings."""
    stack = Stack(tmp_path / ".run", ports=Ports.defaults())
    _write_local_env(stack)
    monkeypatch.setattr(learning_cli, "LOCAL_ENV", stack.run_dir / "local.env")
    monkeypatch.delenv("BRIDGE_ENV_FILE", raising=False)
    # What a maintainer's shell may hold, pointing elsewhere.
    monkeypatch.setenv("SLACK_API_URL", "https://slack.com/api/")
    monkeypatch.delenv("REDIS_URL", raising=False)
    return stack


def test_under_make_run_the_tools_use_its_local_slack_and_redis(make_run: Stack) -> None:
    env = learning_cli.configured()
    assert env["SLACK_API_URL"] == f"{make_run.slack_url}/api/"
    assert learning_cli.redis_url(env) == make_run.redis_url
    assert learning_cli.rasa_redis_url(env, make_run.redis_url) == make_run.rasa_redis_url
    assert "make run" in learning_cli.origin("SLACK_API_URL")
    slack = forget._slack(env)
    assert not isinstance(slack, str)
    assert slack[1].startswith(f"{make_run.slack_url}/api/ (SLACK_API_URL from ")


def test_an_explicit_configuration_file_is_read_instead(
    make_run: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = tmp_path / "production.env"
    own.write_text("SLACK_BOT_TOKEN=xoxb-real\nSLACK_CHANNEL_ID=C0REAL\n")
    monkeypatch.setenv("BRIDGE_ENV_FILE", str(own))
    env = learning_cli.configured()
    assert env["SLACK_API_URL"] == "https://slack.com/api/"  # the environment's
    assert env["SLACK_CHANNEL_ID"] == "C0REAL"
    assert learning_cli.origin("SLACK_CHANNEL_ID") == str(own)
