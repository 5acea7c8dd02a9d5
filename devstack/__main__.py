"""`make run`: the whole product on this machine, with stand-ins for what is not configured."""

from __future__ import annotations

import os
import signal
import sys
import threading

from bridge.dotenv import read_env_file
from devstack.processes import ROOT, StartupError
from devstack.stack import Ports, Stack

SLACK_VARS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_CHANNEL_ID")


def _configured() -> dict[str, str]:
    """The environment over `.env`, as the bridge itself reads them."""
    env_file = ROOT / ".env"
    return {**(read_env_file(env_file) if env_file.is_file() else {}), **os.environ}


def _configured_redis(env: dict[str, str]) -> str | None:
    """The Redis the environment names, if any. Without one, `make run` starts its own (port
    6390, data in .run/redis) rather than write into whatever answers on 6379, which may be a
    developer's own database."""
    return env.get("REDIS_URL") or None


def main() -> None:
    env = _configured()
    real_slack = all(env.get(name) for name in SLACK_VARS)
    real_telegram = bool(env.get("TELEGRAM_BOT_TOKEN"))
    redis_url = _configured_redis(env)
    stack = Stack(
        ROOT / ".run",
        ports=Ports.defaults(),
        redis_url=redis_url,
        local_slack=not real_slack,
        local_telegram=not real_telegram,
        redis_persistent=True,
    )
    print("Starting Redis, Rasa, the action server, the stand-ins and the bridge…", flush=True)
    try:
        stack.start()
    except StartupError as error:
        stack.stop()
        sys.exit(f"could not start: {error}")
    print(f"\n  Customer (web widget):  {stack.bridge_url}/widget/")
    if not real_slack:
        print(f"  Staff (local Slack):    {stack.slack_url}/")
    if not real_telegram:
        print(
            "  Customer (local Telegram): curl -X POST "
            f"{stack.telegram_url}/_test/customer/message "
            '-H \'content-type: application/json\' -d \'{"chat_id": 42, "text": "hi"}\'\n'
            f"                          curl '{stack.telegram_url}/_test/sent?chat_id=42'"
        )
    print(f"  Redis: {stack.redis_url}   Logs: {stack.run_dir}/*.log")
    print("\nPress Ctrl-C to stop.", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        print("Stopping…", flush=True)
        stack.stop()


if __name__ == "__main__":
    main()
