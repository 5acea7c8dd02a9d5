"""`make check-deployment` against the local stand-ins: what passes, and what it points out."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import yaml

from bridge.platforms.slack.scopes import BOT_SCOPES
from devstack.processes import BRIDGE_PYTHON, ROOT, Service, free_port, port_open
from devstack.stack import LOCAL_SLACK, LOCAL_TELEGRAM, Stack


def _check(stack: Stack, **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "BRIDGE_ENV_FILE": os.devnull,
        "REDIS_URL": stack.redis_url,
        "RASA_URL": stack.rasa_url,
        "BRIDGE_PUBLIC_URL": stack.bridge_url,
        **LOCAL_SLACK,
        "SLACK_API_URL": f"{stack.slack_url}/api/",
        **LOCAL_TELEGRAM,
        "TELEGRAM_API_URL": f"{stack.telegram_url}/bot",
        **overrides,
    }
    return subprocess.run(
        [str(BRIDGE_PYTHON), "-m", "bridge.deploy_check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_a_working_deployment_passes_every_check(stack: Stack) -> None:
    result = await asyncio.to_thread(_check, stack)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for name in (
        "redis",
        "rasa",
        "slack token",
        "slack scopes",
        "slack staff channel",
        "telegram token",
        "telegram webhook",
    ):
        assert any(line.startswith(f"PASS  {name}") for line in lines), result.stdout
    assert "is a member" in result.stdout
    assert f"{stack.bridge_url}/telegram/webhook" in result.stdout
    assert lines[-1] == "deployment OK"


async def test_wrong_channel_and_webhook_are_pointed_out(stack: Stack) -> None:
    result = await asyncio.to_thread(
        _check,
        stack,
        SLACK_CHANNEL_ID="C0NOSUCH",
        BRIDGE_PUBLIC_URL="http://elsewhere.example:8080",
    )
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(
        line.startswith("FAIL  slack staff channel") and "channel_not_found" in line
        for line in lines
    ), result.stdout
    assert any(
        line.startswith("FAIL  telegram webhook") and "expected 'http://elsewhere" in line
        for line in lines
    ), result.stdout
    assert any(line.startswith("PASS  slack token") for line in lines)
    assert lines[-1].startswith("deployment NOT OK")


def test_both_manifests_grant_exactly_the_scopes_the_bridge_needs() -> None:
    for name in ("slack-app-manifest.yml", "slack-app-manifest.socket-mode.yml"):
        manifest = yaml.safe_load((ROOT / "deploy" / name).read_text(encoding="utf-8"))
        assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES), name


async def test_an_app_installed_without_a_needed_scope_is_pointed_out(
    stack: Stack, tmp_path: Path
) -> None:
    # A local Slack whose installed app lacks files:write and reactions:write.
    granted = [scope for scope in BOT_SCOPES if scope not in ("files:write", "reactions:write")]
    port = free_port()
    slack = Service(
        "slack-fewer-scopes",
        [
            str(BRIDGE_PYTHON),
            *("-m", "standins.slack", "--port", str(port), "--signing-secret", "s"),
            *("--scopes", ",".join(granted)),
        ],
        tmp_path,
        ready=lambda: port_open(port),
    )
    await asyncio.to_thread(slack.start)
    try:
        result = await asyncio.to_thread(
            _check, stack, SLACK_API_URL=f"http://127.0.0.1:{port}/api/"
        )
    finally:
        slack.stop()
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL  slack scopes")]
    assert failed and "files:write" in failed[0] and "reactions:write" in failed[0], result.stdout
    assert "chat:write" not in failed[0]
