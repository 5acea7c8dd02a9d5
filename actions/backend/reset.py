"""Reset the demo shop to its seed data: `make reset-shop`, or python -m actions.backend.reset.

Resets the database at COMMERCE_DB (default .run/commerce.sqlite3, the one `make run` uses), in
place, so it works whether the stack is running or not.
"""

from actions.backend import db_path
from actions.backend.demo import reset


def main() -> None:
    path = db_path()
    reset(path)
    print(f"demo shop reset to its seed data: {path}")


if __name__ == "__main__":
    main()
