"""Evaluation of the trained assistant on first messages (issue 3, item 4)."""
