"""Custom actions for the Northwind Store assistant (run with `rasa run actions`).

The action server has no authentication of its own, so it listens on loopback unless told
otherwise. rasa-sdk 3.6 imports this package (to find the actions) before it reads the
address to bind from SANIC_HOST, whose default there is 0.0.0.0; setting the default here
covers every way of starting it (`rasa run actions`, `python -m rasa_sdk`). An explicit
SANIC_HOST still wins; docs/operations.md says how to protect the server when it listens
elsewhere.
"""

import os

LOOPBACK = "127.0.0.1"

os.environ.setdefault("SANIC_HOST", LOOPBACK)
