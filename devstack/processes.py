"""Child processes with a log file each and a readiness check with a deadline."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RASA_BIN = ROOT / ".venvs" / "rasa" / "bin"
BRIDGE_PYTHON = ROOT / ".venvs" / "bridge" / "bin" / "python"


class StartupError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_ok(url: str, contains: str = "") -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            body = response.read().decode(errors="replace")
            return response.status == 200 and contains in body
    except (urllib.error.URLError, OSError, ValueError):
        return False


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(
    check: Callable[[], bool], timeout_s: float, what: str, interval_s: float = 0.1
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval_s)
    raise StartupError(f"timed out after {timeout_s:.0f}s waiting for {what}")


@dataclass
class Service:
    """A command that can be started, killed and started again with the same settings."""

    name: str
    argv: list[str]
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    ready: Callable[[], bool] = lambda: True
    ready_timeout_s: float = 60.0
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env={**os.environ, "RASA_TELEMETRY_ENABLED": "false", **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        try:
            wait_until(self._alive_and_ready, self.ready_timeout_s, f"{self.name} to be ready")
        except StartupError as error:
            raise StartupError(f"{error}; see {self.log_path}:\n{self.tail()}") from None

    def _alive_and_ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise StartupError(
                f"{self.name} exited with {self.process.returncode}; see {self.log_path}:\n"
                + self.tail()
            )
        return self.ready()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
