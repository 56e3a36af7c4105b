"""Clients built on first use: "declared at cold-start, but only initialized if/when
the function executes". An injected client (emulators, tests) is used as is."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class LazyClient:
    def __init__(self, factory: Callable[[], Any], client: Any = None) -> None:
        self._factory = factory
        self._client = client
        self._lock = threading.Lock()

    def get(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._factory()
        return self._client
