"""Where the repository is and whether the suite runs under CI, and the one rule that
follows from it: a missing emulator skips its tests locally and fails them in CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def emulator_missing(reason: str) -> None:
    """Skip a test whose emulator is missing; under CI the same is a failure."""
    if IN_CI:
        pytest.fail(f"emulator required in CI: {reason}")
    pytest.skip(reason)
