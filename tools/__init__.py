"""Training-data and evaluation tooling (run with the Rasa venv)."""
