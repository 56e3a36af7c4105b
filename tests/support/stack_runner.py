"""Start and stop `tidemark serve` in-process on a free loopback port: shared by the
stack, hardening and browser suites."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_stack(data_dir: Path, *, threads: int = 32, **settings_kw):
    """Returns (stack, thread) once /api/health answers."""
    import requests

    from shared.auth.tokens import clear_key_cache
    from shared.devstack.serve import LocalStack
    from shared.settings import Settings

    clear_key_cache()
    settings_kw.setdefault("task_backoff_base_s", 0.05)
    settings = Settings(backend="local", data_dir=data_dir, port=free_port(), **settings_kw)
    stack = LocalStack(settings)
    stack.start_worker()
    thread = threading.Thread(target=stack.serve, kwargs={"threads": threads}, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while True:
        try:
            requests.get(f"{settings.base_url}/api/health", timeout=1)
            return stack, thread
        except requests.RequestException:  # not listening yet, or slow under load
            if time.time() > deadline:
                stop_stack(stack, thread)
                raise
            time.sleep(0.05)


def stop_stack(stack, thread) -> None:
    from shared.auth.tokens import clear_key_cache
    from shared.bootstrap import set_deps

    stack.close()
    thread.join(10)
    set_deps(None)
    clear_key_cache()
