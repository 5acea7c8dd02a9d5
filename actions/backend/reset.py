"""Reset the demo shop to its seed data: python -m actions.backend.reset"""

from actions.backend import db_path
from actions.backend.demo import reset

if __name__ == "__main__":
    reset(db_path())
    print(f"demo backend reset: {db_path()}")
