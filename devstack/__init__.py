"""Starts the whole product on one machine: Redis, Rasa, actions, stand-ins and the bridge.

Used by `make run` and by the end-to-end tests, so both exercise the same wiring.
"""
