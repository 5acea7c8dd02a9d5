"""The action server, started the plain way, is reachable from this machine only."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from devstack.processes import RASA_BIN, Service, free_port, http_ok
from tests.ops.conftest import listening_addresses, non_loopback_address


def test_rasa_run_actions_listens_on_loopback_unless_told_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As an operator would start it from the repository: no devstack, no SANIC_HOST.
    monkeypatch.delenv("SANIC_HOST", raising=False)
    port = free_port()
    actions = Service(
        "actions",
        [str(RASA_BIN / "rasa"), "run", "actions", "--port", str(port)],
        tmp_path,
        env={"COMMERCE_DB": str(tmp_path / "commerce.sqlite3")},
        ready=lambda: http_ok(f"http://127.0.0.1:{port}/health"),
        ready_timeout_s=120,
    )
    try:
        actions.start()
        assert listening_addresses(port) == {"127.0.0.1"}, actions.tail()
        address = non_loopback_address()
        if address is not None:
            with socket.socket() as sock:
                sock.settimeout(2)
                reached = sock.connect_ex((address, port)) == 0
            assert not reached, f"the action server answers on {address}:{port}"
    finally:
        actions.stop()
