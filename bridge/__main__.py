"""`python -m bridge`: run the bridge with settings from the environment."""

from __future__ import annotations

import logging
import sys

from aiohttp import web

from bridge.app import create_app
from bridge.settings import Settings, SettingsError


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"bridge: configuration error: {error}", file=sys.stderr)
        sys.exit(2)
    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None)


if __name__ == "__main__":
    main()
