from __future__ import annotations

import socket
import threading
import time

import pytest
import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def running_stack(tmp_path):
    """`tidemark serve` in a thread on a free loopback port, worker included."""
    from shared.auth.tokens import clear_key_cache
    from shared.bootstrap import set_deps
    from shared.local_stack import LocalStack
    from shared.settings import Settings

    clear_key_cache()
    port = free_port()
    settings = Settings(backend="local", data_dir=tmp_path / "data", port=port,
                        task_backoff_base_s=0.05)
    stack = LocalStack(settings)
    stack.start_worker()
    thread = threading.Thread(target=stack.serve, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            requests.get(f"{settings.base_url}/api/health", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.05)
    yield stack
    stack.close()
    thread.join(10)
    set_deps(None)
    clear_key_cache()
