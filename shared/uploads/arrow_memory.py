"""Arrow's allocator for the processes that ingest files.

Arrow reads ARROW_DEFAULT_MEMORY_POOL once, when it is first imported, so the entry
points call `prefer_jemalloc()` before anything imports it. Staging allocates and
frees buffers of a few MiB at a high rate on four threads; with jemalloc its peak RSS
is about 50 MB lower than with Arrow's default, mimalloc, for about 2% more time (see
benchmarks/README.md, Ingest). An explicit setting wins.
"""

from __future__ import annotations

import os

ENV = "ARROW_DEFAULT_MEMORY_POOL"
POOL = "jemalloc"


def chosen() -> str:
    """The allocator Arrow will use in a process started from this one."""
    return os.environ.get(ENV, POOL)


def prefer_jemalloc() -> None:
    os.environ.setdefault(ENV, POOL)
