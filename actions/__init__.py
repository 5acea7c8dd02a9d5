"""Custom actions for the Northwind Store assistant (run with `rasa run actions`)."""
