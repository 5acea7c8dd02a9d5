"""`make run`: the whole product on this machine, with stand-ins for what is not configured."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading

from bridge.dotenv import read_env_file
from devstack.processes import ROOT, StartupError
from devstack.stack import LOCAL_ALERTS_CHANNEL, Ports, Stack

# A real Slack app: its bot token and channel, and how Slack reaches the bridge (the signing
# secret of the Events API, or the app-level token of Socket Mode).
SLACK_VARS = ("SLACK_BOT_TOKEN", "SLACK_CHANNEL_ID")
SLACK_DOORS = ("SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")


def _configured() -> dict[str, str]:
    """The environment over `.env`, as the bridge itself reads them."""
    env_file = ROOT / ".env"
    return {**(read_env_file(env_file) if env_file.is_file() else {}), **os.environ}


def _configured_redis(env: dict[str, str]) -> str | None:
    """The Redis the environment names, if any. Without one, `make run` starts its own (port
    6390, data in .run/redis) rather than write into whatever answers on 6379, which may be a
    developer's own database."""
    return env.get("REDIS_URL") or None


def _which_redis(url: str, configured: bool) -> str:
    if configured:
        return f"{url} (REDIS_URL)"
    return f"{url}, its own server (data in .run/redis; set REDIS_URL to use another)"


def _slack_door(env: dict[str, str]) -> str:
    if env.get("SLACK_APP_TOKEN"):
        return "Socket Mode (SLACK_APP_TOKEN): no public address needed"
    return "the Events API: Slack calls BRIDGE_PUBLIC_URL/slack/events"


def _telegram_door(env: dict[str, str]) -> str:
    mode = env.get("TELEGRAM_UPDATES") or ("webhook" if env.get("BRIDGE_PUBLIC_URL") else "")
    if mode == "webhook":
        return "a webhook: Telegram calls BRIDGE_PUBLIC_URL/telegram/webhook"
    return "long polling (getUpdates): no public address needed"


def _write_local_env(stack: Stack) -> None:
    """The settings `make run` gave its bridge, for the tools (`make forget`, `make review`:
    tools/learning_cli.py): the shell they run in has none of them. Removed at stop."""
    env = {**stack.services["bridge"].env, "RASA_REDIS_URL": stack.rasa_redis_url}
    path = stack.run_dir / "local.env"
    path.touch(mode=0o600)
    path.write_text("".join(f"{name}={json.dumps(value)}\n" for name, value in env.items()))


def main() -> None:
    env = _configured()
    real_slack = all(env.get(name) for name in SLACK_VARS) and any(
        env.get(name) for name in SLACK_DOORS
    )
    real_telegram = bool(env.get("TELEGRAM_BOT_TOKEN"))
    redis_url = _configured_redis(env)
    stack = Stack(
        ROOT / ".run",
        ports=Ports.defaults(),
        redis_url=redis_url,
        local_slack=not real_slack,
        local_telegram=not real_telegram,
        redis_persistent=True,
        alerts_channel=True,
    )
    print("Starting Redis, Rasa, the action server, the stand-ins and the bridge…", flush=True)
    print(f"  Redis: {_which_redis(stack.redis_url, redis_url is not None)}", flush=True)
    try:
        stack.start()
    except StartupError as error:
        stack.stop()
        sys.exit(f"could not start: {error}")
    _write_local_env(stack)
    print(f"\n  Customer (web widget):  {stack.bridge_url}/widget/")
    if not real_slack:
        print(f"  Staff (local Slack):    {stack.slack_url}/")
        print(f"  Topic spike alerts:     {stack.slack_url}/?channel={LOCAL_ALERTS_CHANNEL['id']}")
    else:
        print(f"  Staff (your Slack):     {_slack_door(env)}")
    if real_telegram:
        print(f"  Customer (your Telegram bot): {_telegram_door(env)}")
    if not real_telegram:
        print(
            "  Customer (local Telegram): curl -X POST "
            f"{stack.telegram_url}/_test/customer/message "
            '-H \'content-type: application/json\' -d \'{"chat_id": 42, "text": "hi"}\'\n'
            f"                          curl '{stack.telegram_url}/_test/sent?chat_id=42'"
        )
    print(f"  Logs: {stack.run_dir}/*.log")
    print("\nPress Ctrl-C to stop.", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        print("Stopping…", flush=True)
        (stack.run_dir / "local.env").unlink(missing_ok=True)
        stack.stop()


if __name__ == "__main__":
    main()
