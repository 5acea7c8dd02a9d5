"""Where `make review` and `make forget` find Redis: the bridge's settings, else `make run`'s."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
MAKE_RUN_REDIS = "redis://127.0.0.1:6390/0"  # devstack Ports.defaults()
RASA_TRACKER_DB = 1  # devstack/stack.py RASA_TRACKER_DB


def configured() -> dict[str, str]:
    from bridge.dotenv import read_env_file

    env_file = Path(os.environ.get("BRIDGE_ENV_FILE") or ROOT / ".env")
    return {**(read_env_file(env_file) if env_file.is_file() else {}), **os.environ}


def redis_url(env: dict[str, str]) -> str:
    if env.get("REDIS_URL"):
        return env["REDIS_URL"]
    return MAKE_RUN_REDIS if _open(6390) else "redis://127.0.0.1:6379/0"


def rasa_redis_url(env: dict[str, str], bridge_url: str) -> str:
    """Rasa's tracker store: RASA_REDIS_URL, else the bridge's server in database 1."""
    if env.get("RASA_REDIS_URL"):
        return env["RASA_REDIS_URL"]
    return urlparse(bridge_url)._replace(path=f"/{RASA_TRACKER_DB}").geturl()


def _open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0
