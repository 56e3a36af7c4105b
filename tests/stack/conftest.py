from __future__ import annotations

import pytest

from tests.support.stack_runner import start_stack, stop_stack


@pytest.fixture
def running_stack(tmp_path):
    """`tidemark serve` in a thread on a free loopback port, worker included."""
    stack, thread = start_stack(tmp_path / "data")
    yield stack
    stop_stack(stack, thread)
