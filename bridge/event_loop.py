"""The bridge's event loop: uvloop where it is installed (it is a dependency on Linux and macOS).

Its C implementation of sockets and scheduling took about a quarter off the bridge's own cost
on a bot turn (docs/benchmarks.md, measurement 1); the bridge spends most of its time in small
socket reads and writes (WebSocket frames, Redis round trips).
"""

from __future__ import annotations

import asyncio


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # e.g. Windows, where uvloop does not exist
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
