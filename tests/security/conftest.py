"""Security tests use the shared stack, or their own replicas (tests/reliability/conftest.py)."""

from tests.reliability.conftest import replicas_factory

__all__ = ["replicas_factory"]
