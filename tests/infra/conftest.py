"""Fixtures of the infrastructure tests: every function's package, built once per module."""

from tests.support.packaging import built, src  # noqa: F401 - fixtures
