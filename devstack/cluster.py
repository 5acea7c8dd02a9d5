"""A real Redis Cluster on loopback: three primaries and a replica each, created by the run that
needs it (tests/cluster/, faults/test_cluster_failover.py, `Stack(..., redis_cluster=True)`).

Each node is a `redis-server --cluster-enabled yes` on a free port with its own directory;
`redis-cli --cluster create ... --cluster-replicas 1` assigns the slots. A small
cluster-node-timeout (CLUSTER_NODE_TIMEOUT_MS) makes a replica take over a lost primary within
a few seconds, which the failover fault case measures (docs/scaling.md, "Cluster").
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from devstack.processes import Service, StartupError, free_port, port_open

PRIMARIES = 3
# How long a primary may be unreachable before the others call it failed and its replica is
# elected in its place.
CLUSTER_NODE_TIMEOUT_MS = 2000
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


class LocalCluster:
    """Started with `start()` (as a Stack's service), stopped with `stop()`."""

    def __init__(self, run_dir: Path, primaries: int = PRIMARIES, replicas: int = 1) -> None:
        self.run_dir = run_dir
        self.replicas = replicas
        self.ports = [free_port() for _ in range(primaries * (1 + replicas))]
        self.nodes: dict[int, Service] = {port: self._node(port) for port in self.ports}

    @property
    def url(self) -> str:
        """REDIS_URL for the bridge: every node as a seed."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def _node(self, port: int) -> Service:
        data_dir = self.run_dir / f"node-{port}"
        shutil.rmtree(data_dir, ignore_errors=True)  # a new cluster: no nodes.conf, no AOF
        data_dir.mkdir(parents=True)
        return Service(
            f"redis-cluster-{port}",
            [
                REDIS_SERVER,
                *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir)),
                *("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
                # The bus port of its own (by default port + 10000, which may be taken or > 65535).
                *("--cluster-port", str(free_port())),
                *("--cluster-node-timeout", str(CLUSTER_NODE_TIMEOUT_MS)),
                # AOF as shipped (docs/deployment.md); nothing survives a run (fresh dirs).
                *("--appendonly", "yes", "--appendfsync", "everysec", "--save", ""),
            ],
            self.run_dir,
            ready=lambda: port_open(port),
        )

    def start(self) -> None:
        for node in self.nodes.values():
            node.start()
        created = subprocess.run(
            [
                REDIS_CLI,
                "--cluster",
                "create",
                *(f"127.0.0.1:{port}" for port in self.ports),
                "--cluster-replicas",
                str(self.replicas),
                "--cluster-yes",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if created.returncode != 0:
            raise StartupError(
                f"redis-cli --cluster create failed: {created.stdout}{created.stderr}"
            )
        self.wait_ok()

    def stop(self) -> None:
        for node in self.nodes.values():
            node.stop()

    def cli(self, port: int, *args: str) -> str:
        done = subprocess.run(
            [REDIS_CLI, "-p", str(port), *args], capture_output=True, text=True, timeout=10
        )
        return done.stdout

    def alive(self) -> list[int]:
        return [p for p, node in self.nodes.items() if node.process and node.process.poll() is None]

    def state_ok(self) -> bool:
        """Every live node says cluster_state:ok and knows as many primaries as were created,
        and every live replica has synchronised with its primary (a replica that never has is
        not elected in a lost primary's place)."""
        for port in self.alive():
            info = self.cli(port, "cluster", "info")
            if "cluster_state:ok" not in info:
                return False
            replication = self.cli(port, "info", "replication")
            if "role:slave" in replication and "master_link_status:up" not in replication:
                return False
            if len(self.primaries()) < len(self.ports) // (1 + self.replicas):
                return False
        return True

    def wait_ok(self, timeout_s: float = 60) -> float:
        """Wait for cluster_state:ok on every live node; answers how long it took (s)."""
        started = time.monotonic()
        deadline = started + timeout_s
        while time.monotonic() < deadline:
            if self.state_ok():
                return time.monotonic() - started
            time.sleep(0.05)
        raise StartupError(
            f"cluster not ok after {timeout_s} s: {self.cli(self.ports[0], 'cluster', 'nodes')}"
        )

    def wait_promoted(self, lost: int, key: str, timeout_s: float = 60) -> float:
        """After primary `lost` was killed: wait until another node serves `key`'s slot and
        the cluster is ok; answers how long it took (s)."""
        started = time.monotonic()
        deadline = started + timeout_s
        while time.monotonic() < deadline:
            try:
                if self.primary_of(key) != lost and self.state_ok():
                    return time.monotonic() - started
            except LookupError:
                pass  # the slot has no primary yet
            time.sleep(0.05)
        raise StartupError(f"no replica took over from {lost} within {timeout_s} s")

    def primaries(self) -> list[int]:
        """Ports of the live primaries, as a live node sees them."""
        alive = self.alive()
        if not alive:
            return []
        found = []
        for line in self.cli(alive[0], "cluster", "nodes").splitlines():
            parts = line.split()
            if len(parts) > 2 and "master" in parts[2] and "fail" not in parts[2]:
                port = int(parts[1].split("@")[0].rsplit(":", 1)[1])
                if port in alive:
                    found.append(port)
        return found

    def primary_of(self, key: str) -> int:
        """The port of the primary serving `key`'s slot."""
        slot = int(self.cli(self.alive()[0], "cluster", "keyslot", key).strip())
        for line in self.cli(self.alive()[0], "cluster", "nodes").splitlines():
            parts = line.split()
            if len(parts) < 9 or "master" not in parts[2] or "fail" in parts[2]:
                continue
            for span in parts[8:]:
                low, _, high = span.partition("-")
                if low.isdigit() and int(low) <= slot <= int(high or low):
                    return int(parts[1].split("@")[0].rsplit(":", 1)[1])
        raise LookupError(f"no primary serves slot {slot}")

    def kill(self, port: int) -> None:
        """SIGKILL one node (it stays down)."""
        self.nodes[port].kill()
