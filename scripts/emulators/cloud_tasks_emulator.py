"""Start gcloud-tasks-emulator bound to one host only (it binds every interface).

Runs inside .emulators/tasks:
    .emulators/tasks/bin/python scripts/emulators/cloud_tasks_emulator.py \
        --host 127.0.0.1 --port 9090 -d projects/p/locations/l/queues/q

Every other argument is the emulator's own (`start` is implied). Two fixes on top:
- its gRPC server is created with `add_insecure_port("[::]:P")`; the wrapper rewrites
  that address to the requested host before the server starts;
- it accepts a task name twice; Cloud Tasks answers ALREADY_EXISTS for a name used
  before (even after the task ran), which is what de-duplication relies on, so the
  wrapper remembers every name and rejects a repeat the same way.
"""

from __future__ import annotations

import argparse
import sys


def main() -> None:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--host", default="127.0.0.1")
    args, rest = pre.parse_known_args()

    import grpc

    real_server = grpc.server

    def server(*a, **kw):
        srv = real_server(*a, **kw)
        real_add = srv.add_insecure_port

        def add_insecure_port(address: str) -> int:
            port = address.rsplit(":", 1)[1]
            return real_add(f"{args.host}:{port}")

        srv.add_insecure_port = add_insecure_port
        return srv

    grpc.server = server
    _reject_duplicate_names()
    from gcloud_tasks_emulator.__main__ import main as emulator_main

    sys.argv = [sys.argv[0], "start", *rest]
    emulator_main()


def _reject_duplicate_names() -> None:
    import threading

    from gcloud_tasks_emulator import server as emulator
    from google.api_core.exceptions import AlreadyExists

    seen: set[str] = set()
    lock = threading.Lock()
    create = emulator.QueueState.create_task

    def create_task(self, queue, task):
        if task.name:
            with lock:
                if task.name in seen:
                    raise AlreadyExists(f"Requested entity already exists: {task.name}")
                seen.add(task.name)
        return create(self, queue, task)

    emulator.QueueState.create_task = create_task


if __name__ == "__main__":
    main()
