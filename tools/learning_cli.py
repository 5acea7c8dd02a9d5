"""Where `make review` and `make forget` find Redis and Slack: the bridge's own configuration.

That is the environment over `.env` (BRIDGE_ENV_FILE names another file), as the bridge reads
it (bridge/settings.py, load_settings). Under `make run` the bridge also gets the settings
`make run` chose for it (its own Redis, the local Slack and Telegram when none is configured),
which no shell sees: `make run` writes them to .run/local.env while it runs
(devstack/__main__.py), and they come first here, as they do for its bridge. An explicit
BRIDGE_ENV_FILE is a configuration of its own: .run/local.env is not read then.
"""

from __future__ import annotations

import os
import socket
from dataclasses import fields
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
# The settings `make run` gave its bridge (devstack/__main__.py writes it, and removes it when
# it stops).
LOCAL_ENV = ROOT / ".run" / "local.env"
MAKE_RUN_REDIS = "redis://127.0.0.1:6390/0"  # devstack Ports.defaults()
RASA_TRACKER_DB = 1  # devstack/stack.py RASA_TRACKER_DB


def configured() -> dict[str, str]:
    """The configuration the bridge reads (see the module's docstring)."""
    return {name: value for name, (value, _) in _layers().items()}


def origin(name: str) -> str:
    """Where the configured value of `name` comes from, for messages ("the default" if none)."""
    found = _layers().get(name)
    return found[1] if found and found[0] else "the default"


def setting(env: dict[str, str], name: str) -> str:
    """The bridge's setting `name` (a bridge/settings.py field) as configured, or its default."""
    from bridge.settings import Settings, env_name

    spec = next(f for f in fields(Settings) if f.name == name)
    return env.get(env_name(spec)) or str(spec.default)


def redis_url(env: dict[str, str]) -> str:
    if env.get("REDIS_URL"):
        return env["REDIS_URL"]
    return MAKE_RUN_REDIS if _open(6390) else "redis://127.0.0.1:6379/0"


def rasa_redis_url(env: dict[str, str], bridge_url: str) -> str:
    """Rasa's tracker store: RASA_REDIS_URL, else the bridge's server in database 1."""
    if env.get("RASA_REDIS_URL"):
        return env["RASA_REDIS_URL"]
    return urlparse(bridge_url)._replace(path=f"/{RASA_TRACKER_DB}").geturl()


def _layers() -> dict[str, tuple[str, str]]:
    """name -> (value, where it comes from), the later layer winning."""
    from bridge.dotenv import read_env_file

    explicit = os.environ.get("BRIDGE_ENV_FILE")
    env_file = Path(explicit or ROOT / ".env")
    layers: list[tuple[dict[str, str], str]] = []
    if env_file.is_file():
        layers.append((read_env_file(env_file), str(env_file)))
    layers.append((dict(os.environ), "the environment"))
    if not explicit and LOCAL_ENV.is_file():
        layers.append((read_env_file(LOCAL_ENV), f"{LOCAL_ENV} (written by `make run`)"))
    merged: dict[str, tuple[str, str]] = {}
    for values, where in layers:
        merged.update({name: (value, where) for name, value in values.items()})
    return merged


def _open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0
