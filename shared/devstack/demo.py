"""The demo account `tidemark serve` creates on first run, so a newcomer is one click
from a populated dashboard. Its data goes through the real upload path."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger("tidemark.demo")


def seed_demo_in_background(stack) -> threading.Thread:
    def run() -> None:
        try:
            from shared.devstack.demo_seed import seed_demo

            seed_demo(stack)
        except Exception:
            log.exception("demo seeding failed")
    t = threading.Thread(target=run, name="demo-seed", daemon=True)
    t.start()
    return t
