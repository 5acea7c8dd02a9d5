"""`python -m standins.shop --port P --db PATH --api-key KEY`: the local shop API.

`COMMERCE_DB=PATH make reset-shop` puts its seed data back, while it runs or not."""

from __future__ import annotations

import argparse
from pathlib import Path

from aiohttp import web

from .app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m standins.shop", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8093)
    parser.add_argument("--db", type=Path, required=True, help="the demo shop's SQLite file")
    parser.add_argument("--api-key", required=True)
    args = parser.parse_args(argv)
    web.run_app(
        create_app(args.db, args.api_key),
        host=args.host,
        port=args.port,
        print=lambda _: print(f"local shop API on http://{args.host}:{args.port}"),
    )


if __name__ == "__main__":
    main()
