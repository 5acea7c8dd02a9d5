"""The product's processes wired together on loopback, with local Slack/Telegram stand-ins."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from devstack.cluster import LocalCluster
from devstack.processes import (
    BRIDGE_PYTHON,
    RASA_BIN,
    ROOT,
    Service,
    StartupError,
    free_port,
    http_ok,
    port_open,
)

MODEL = ROOT / "models" / "current.tar.gz"
# Rasa keeps its trackers in the same Redis server, in this database (the bridge uses its URL's).
RASA_TRACKER_DB = 1
DEFAULT_RETENTION_S = 30 * 24 * 3600

# Credentials of the local stand-ins; they mean nothing anywhere else.
LOCAL_SLACK = {
    "SLACK_BOT_TOKEN": "xoxb-local-bot",
    "SLACK_SIGNING_SECRET": "local-signing-secret",
    "SLACK_CHANNEL_ID": "C0STAFF",
}
# `make run`'s local Slack also has a channel for topic spike alerts (SPIKE_ALERT_CHANNEL).
LOCAL_ALERTS_CHANNEL = {"id": "C0ALERTS", "name": "support-alerts"}
# The demo shop signs its customers' identities with this (docs/identity.md).
LOCAL_SHOP_IDENTITY_SECRET = "local-shop-identity-secret-not-for-production"
LOCAL_TELEGRAM = {
    "TELEGRAM_BOT_TOKEN": "123456:local-telegram-token",
    "TELEGRAM_WEBHOOK_SECRET": "local-webhook-secret",
}
# Socket Mode's app-level token (an `xapp-` token with connections:write) of the local Slack.
LOCAL_SLACK_APP_TOKEN = "xapp-1-local-app"

# How Slack reaches the bridge: the HTTP Events API (a public URL) or Socket Mode (a WebSocket
# the bridge opens). How Telegram does: a webhook (a public URL) or long polling (getUpdates).
SLACK_MODES = ("events", "socket")
TELEGRAM_MODES = ("webhook", "polling")


# Every test client, and every simulated customer of a benchmark, connects from 127.0.0.1: as
# one shared address they would trip the per-address limits meant for a real attacker's
# address (docs/abuse.md). The suites that are not about those limits turn them off with this;
# tests/security/test_limits.py runs a bridge with the shipped ones.
ONE_ADDRESS_FOR_MANY_CUSTOMERS = {
    "LIMIT_SOURCE_CONNECTIONS_PER_MINUTE": "0",
    "LIMIT_SOURCE_CONVERSATIONS_PER_HOUR": "0",
    "LIMIT_SOURCE_MESSAGES_PER_MINUTE": "0",
    "LIMIT_ORIGIN_CONVERSATIONS_PER_MINUTE": "0",
    "LIMIT_SOURCE_UPLOADS_PER_HOUR": "0",
    "LIMIT_SOURCE_UPLOAD_MB_PER_HOUR": "0",
    "LIMIT_SOURCE_GUEST_HANDOFFS_PER_HOUR": "0",
    "LIMIT_GUEST_HANDOFFS_PER_MINUTE": "0",
}


@dataclass
class Ports:
    redis: int = field(default_factory=free_port)
    rasa: int = field(default_factory=free_port)
    actions: int = field(default_factory=free_port)
    bridge: int = field(default_factory=free_port)
    slack: int = field(default_factory=free_port)
    telegram: int = field(default_factory=free_port)

    @classmethod
    def defaults(cls) -> Ports:
        """The well-known ports `make run` uses, so the printed URLs stay the same."""
        return cls(redis=6390, rasa=5005, actions=5055, bridge=8080, slack=8091, telegram=8092)


class Stack:
    """Starts what is missing, in dependency order; stops what it started."""

    def __init__(
        self,
        run_dir: Path,
        ports: Ports | None = None,
        redis_url: str | None = None,
        bridge_env: dict[str, str] | None = None,
        local_slack: bool = True,
        local_telegram: bool = True,
        redis_persistent: bool = False,
        alerts_channel: bool = False,
        slack_mode: str = "events",
        telegram_mode: str = "webhook",
        rasa_of: Stack | None = None,
        rasa_servers: int = 1,
        redis_cluster: bool = False,
    ) -> None:
        """`rasa_of`: use that (started) stack's Rasa and action server instead of starting
        another pair, for a second bridge that differs only in how the platforms reach it.

        `rasa_servers`: how many Rasa servers to start, each with its own port and its own
        action server, all sharing the tracker and lock store in Redis; the bridge gets them
        all in RASA_URL (docs/scaling.md). Each takes 1.5-2 GB: keep 1 unless testing that.

        `redis_cluster`: the bridge keeps its state on a Redis Cluster of its own (three
        primaries and their replicas, devstack/cluster.py; `self.cluster`), its REDIS_URL
        `bridge_redis_url`. Rasa's trackers stay on the standalone Redis (`redis_url`): Rasa's
        Redis stores do not support Cluster."""
        if slack_mode not in SLACK_MODES or telegram_mode not in TELEGRAM_MODES:
            raise ValueError(f"unknown mode: {slack_mode}, {telegram_mode}")
        if rasa_servers < 1:
            raise ValueError(f"rasa_servers must be at least 1, got {rasa_servers}")
        self.run_dir = run_dir
        self.slack_mode = slack_mode
        self.alerts_channel = alerts_channel and local_slack
        self.telegram_mode = telegram_mode
        self._rasa_of = rasa_of
        self.ports = ports or Ports()
        # The first Rasa and action server use the Ports'; the others get free ports.
        self.rasa_ports = [self.ports.rasa, *(free_port() for _ in range(rasa_servers - 1))]
        self.action_ports = [self.ports.actions, *(free_port() for _ in range(rasa_servers - 1))]
        self.redis_url = redis_url or f"redis://127.0.0.1:{self.ports.redis}/0"
        self.local_slack = local_slack
        self.local_telegram = local_telegram
        self.services: dict[str, Service] = {}
        self.retention_s = int(
            (bridge_env or {}).get("CONVERSATION_RETENTION_S") or DEFAULT_RETENTION_S
        )
        if redis_url is None:
            self.services["redis"] = self._redis(redis_persistent)
        self.cluster = LocalCluster(run_dir / "cluster") if redis_cluster else None
        if self.cluster is not None:
            self.services["redis-cluster"] = self.cluster  # type: ignore[assignment]
        # Where the bridge keeps its state: the cluster's URL, or the standalone Redis's.
        self.bridge_redis_url = self.cluster.url if self.cluster is not None else self.redis_url
        if rasa_of is None:
            for index in range(rasa_servers):
                suffix = f"-{index + 1}" if index else ""  # "rasa", "rasa-2", ...
                self.services["actions" + suffix] = self._actions(index)
                self.services["rasa" + suffix] = self._rasa(index)
        if local_slack:
            self.services["slack"] = self._slack()
        if local_telegram:
            self.services["telegram"] = self._telegram()
        self.services["bridge"] = self._bridge(bridge_env or {})

    @property
    def bridge_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.bridge}"

    @property
    def slack_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.slack}"

    @property
    def telegram_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.telegram}"

    @property
    def commerce_db(self) -> Path:
        """The demo shop's database: its action server's (`make reset-shop` resets it)."""
        if self._rasa_of is not None:
            return self._rasa_of.commerce_db
        return self.run_dir / "commerce.sqlite3"

    @property
    def rasa_url(self) -> str:
        """The first Rasa server (the only one unless `rasa_servers` was more than 1)."""
        return self.rasa_urls[0]

    @property
    def rasa_urls(self) -> list[str]:
        if self._rasa_of is not None:
            return self._rasa_of.rasa_urls
        return [f"http://127.0.0.1:{port}" for port in self.rasa_ports]

    @property
    def rasa_redis_url(self) -> str:
        """Where Rasa's tracker store keeps conversations (read by review, forget)."""
        if self._rasa_of is not None:
            return self._rasa_of.rasa_redis_url
        parsed = urlparse(self.redis_url)
        return parsed._replace(path=f"/{RASA_TRACKER_DB}").geturl()

    def start(self) -> None:
        if not MODEL.exists():
            raise StartupError(f"no trained model at {MODEL}; run `make model` first")
        for service in self.services.values():
            service.start()

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()

    def _redis(self, persistent: bool) -> Service:
        # The shipped configuration (maxmemory, noeviction, AOF: docs/deployment.md), with
        # this stack's port, loopback only and its own directory; the tests' Redis keeps
        # nothing on disk.
        data_dir = self.run_dir / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        server = shutil.which("redis-server") or "/usr/bin/redis-server"
        conf = ROOT / "deploy" / "redis.conf"
        persistence = ["--appendonly", "yes"] if persistent else ["--appendonly", "no"]
        return Service(
            "redis",
            [
                server,
                str(conf),
                "--port",
                str(self.ports.redis),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--dir",
                str(data_dir),
                *persistence,
            ],
            self.run_dir,
            ready=lambda: port_open(self.ports.redis),
        )

    def _actions(self, index: int = 0) -> Service:
        port = self.action_ports[index]
        return Service(
            "actions" + (f"-{index + 1}" if index else ""),
            [
                str(RASA_BIN / "rasa"),
                "run",
                "actions",
                "--actions",
                "actions",
                "--port",
                str(port),
            ],
            self.run_dir,
            # The demo shop's database lives with this stack's other state, so a test run and
            # a benchmark never share (or reset) each other's orders. Every action server of
            # the stack shares it (they are stateless otherwise).
            env={"SANIC_HOST": "127.0.0.1", "COMMERCE_DB": str(self.commerce_db)},
            ready=lambda: http_ok(f"http://127.0.0.1:{port}/health"),
            ready_timeout_s=120,
        )

    def _rasa(self, index: int = 0) -> Service:
        suffix = f"-{index + 1}" if index else ""
        endpoints = self.run_dir / f"endpoints{suffix}.yml"
        endpoints.parent.mkdir(parents=True, exist_ok=True)
        redis = urlparse(self.redis_url)
        # Trackers in Redis survive a Rasa restart and a model promotion (docs/learning.md).
        # The lock store in the same Redis keeps two Rasa servers from processing one
        # conversation at once (docs/scaling.md); each Rasa calls its own action server.
        expiry = f"  record_exp: {self.retention_s}\n" if self.retention_s else ""
        where = (
            f"  url: {redis.hostname or '127.0.0.1'}\n  port: {redis.port or 6379}\n"
            f"  db: {RASA_TRACKER_DB}\n"
            + (f"  password: {redis.password}\n" if redis.password else "")
        )
        endpoints.write_text(
            f"action_endpoint:\n  url: http://127.0.0.1:{self.action_ports[index]}/webhook\n"
            f"tracker_store:\n  type: redis\n{where}{expiry}"
            f"lock_store:\n  type: redis\n{where}"
        )
        return rasa_server("rasa" + suffix, endpoints, self.rasa_ports[index], self.run_dir)

    def _slack(self) -> Service:
        # In Socket Mode the local Slack, like Slack, sends events over the bridge's WebSocket
        # and ignores the request URLs.
        socket = self.slack_mode == "socket"
        return Service(
            "slack",
            [
                str(BRIDGE_PYTHON),
                "-m",
                "standins.slack",
                "--port",
                str(self.ports.slack),
                "--events-url",
                f"{self.bridge_url}/slack/events",
                "--interactivity-url",
                f"{self.bridge_url}/slack/interactivity",
                "--signing-secret",
                LOCAL_SLACK["SLACK_SIGNING_SECRET"],
                *(["--socket-mode", "--app-token", LOCAL_SLACK_APP_TOKEN] if socket else []),
                *(
                    ["--alerts-channel-name", LOCAL_ALERTS_CHANNEL["name"]]
                    if self.alerts_channel
                    else []
                ),
            ],
            self.run_dir,
            ready=lambda: port_open(self.ports.slack),
        )

    def _telegram(self) -> Service:
        return Service(
            "telegram",
            [str(BRIDGE_PYTHON), "-m", "standins.telegram", "--port", str(self.ports.telegram)],
            self.run_dir,
            ready=lambda: port_open(self.ports.telegram),
        )

    def _bridge(self, extra_env: dict[str, str]) -> Service:
        env = {
            "REDIS_URL": self.bridge_redis_url,
            "RASA_URL": ",".join(self.rasa_urls),
            "BRIDGE_PORT": str(self.ports.bridge),
            "BRIDGE_INSTANCE": "bridge-1",
            "SHOP_IDENTITY_SECRET": LOCAL_SHOP_IDENTITY_SECRET,
        }
        if self.local_telegram and self.telegram_mode == "webhook":
            # The local Telegram calls the bridge here. Without a public address the bridge
            # polls Telegram (getUpdates) instead, as on a laptop; a real Telegram's mode is
            # the configuration's (BRIDGE_PUBLIC_URL, TELEGRAM_UPDATES).
            env["BRIDGE_PUBLIC_URL"] = self.bridge_url
        if self.local_slack:
            env |= LOCAL_SLACK | {"SLACK_API_URL": f"{self.slack_url}/api/"}
            if self.alerts_channel:
                env["SPIKE_ALERT_CHANNEL"] = LOCAL_ALERTS_CHANNEL["id"]
            if self.slack_mode == "socket":  # what a Socket Mode app has: no signing secret
                env["SLACK_APP_TOKEN"] = LOCAL_SLACK_APP_TOKEN
                del env["SLACK_SIGNING_SECRET"]
        if self.local_telegram:
            env |= LOCAL_TELEGRAM | {
                "TELEGRAM_API_URL": f"{self.telegram_url}/bot",
                "TELEGRAM_FILE_URL": f"{self.telegram_url}/file/bot",
            }
            if self.telegram_mode == "polling":
                del env["TELEGRAM_WEBHOOK_SECRET"]
        return Service(
            "bridge",
            [str(BRIDGE_PYTHON), "-m", "bridge"],
            self.run_dir,
            env=env | extra_env,
            ready=lambda: http_ok(f"{self.bridge_url}/healthz"),
        )


@contextmanager
def scratch_redis(name: str, run_dir: Path, *options: str) -> Iterator[str]:
    """A Redis server of its own on a free port, keeping nothing on disk, for as long as the
    block runs; yields its URL. `options`: more redis-server arguments."""
    port = free_port()
    server = Service(
        name,
        [
            shutil.which("redis-server") or "/usr/bin/redis-server",
            *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            *("--dir", str(run_dir), *options),
        ],
        run_dir,
        ready=lambda: port_open(port),
    )
    server.start()
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.stop()


def rasa_server(name: str, endpoints: Path, port: int, log_dir: Path) -> Service:
    """Rasa with the current model, on loopback only: its REST channel is unauthenticated."""
    return Service(
        name,
        [
            str(RASA_BIN / "rasa"),
            "run",
            "--enable-api",
            "-m",
            str(MODEL),
            "--credentials",
            "credentials.yml",
            "--endpoints",
            str(endpoints),
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        log_dir,
        env={"TF_CPP_MIN_LOG_LEVEL": "2"},
        ready=lambda: http_ok(f"http://127.0.0.1:{port}/status", contains="model_file"),
        ready_timeout_s=240,
    )
