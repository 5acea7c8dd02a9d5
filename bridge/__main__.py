"""`python -m bridge`: run the bridge with settings from the environment (and `.env`)."""

from __future__ import annotations

import sys

from aiohttp import web

from bridge.app import HANDLER_GRACE_S, create_app
from bridge.event_loop import new_event_loop
from bridge.observability import logs
from bridge.settings import SettingsError, load_settings


def main() -> None:
    try:
        settings = load_settings()
    except SettingsError as error:
        # Before logging is set up, and meant for a person: plain text, one fix per line.
        print(f"bridge: {error}\nSee docs/configuration.md.", file=sys.stderr)
        sys.exit(2)
    logs.configure(settings.log_level, settings.secrets())
    # aiohttp turns SIGTERM into a graceful stop: close the listener, close widget sockets,
    # wait up to HANDLER_GRACE_S for requests, then the cleanup contexts (senders finish the
    # delivery in flight, see bridge/app.py).
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=None,
        shutdown_timeout=HANDLER_GRACE_S,
        loop=new_event_loop(),
    )


if __name__ == "__main__":
    main()
