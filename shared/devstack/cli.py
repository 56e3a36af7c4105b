"""The `tidemark` command line: run the local stack, upload files, operate keys/tasks."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any


def _settings(args: argparse.Namespace):
    from shared.settings import Settings

    overrides: dict[str, Any] = {}
    for field in ("host", "port", "data_dir"):
        value = getattr(args, field, None)
        if value is not None:
            overrides[field] = value
    return Settings(**overrides)


def cmd_serve(args: argparse.Namespace) -> int:
    from shared.devstack.serve import LocalStack
    from shared.log import configure

    settings = _settings(args)
    configure(settings.log_level)
    if settings.backend != "local":
        print("tidemark serve runs the embedded local stack; unset TIDEMARK_BACKEND",
              file=sys.stderr)
        return 2
    stack = LocalStack(settings)
    stack.start_worker()
    if not args.no_demo:
        from shared.devstack.demo import seed_demo_in_background

        seed_demo_in_background(stack)
    print(f"Tidemark is running at {settings.base_url}/  (data in {settings.data_dir})",
          flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        stack.serve()
    return 0


def cmd_upload(args: argparse.Namespace) -> int:
    from shared.devstack.upload import upload_command

    return upload_command(args)


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from shared.auth.keys import rotate_in_store
    from shared.bootstrap import Deps

    deps = Deps(_settings(args))
    print(json.dumps(rotate_in_store(deps.secrets), default=str))
    return 0


def cmd_keys_init(args: argparse.Namespace) -> int:
    from shared.auth.keys import ensure_in_store
    from shared.bootstrap import Deps

    deps = Deps(_settings(args))
    print(json.dumps({"signing_kid": ensure_in_store(deps.secrets)}))
    return 0


def cmd_tasks(args: argparse.Namespace) -> int:
    from shared.adapters.local.task_queue import SqliteTaskQueue
    from shared.bootstrap import Deps

    deps = Deps(_settings(args))
    queue = deps.tasks
    if not isinstance(queue, SqliteTaskQueue):
        print("task inspection is available on the local backend only", file=sys.stderr)
        return 2
    out = {"counts": queue.counts(), "dead_letters": [
        {k: d[k] for k in ("name", "target", "attempts", "last_status", "last_error")}
        for d in queue.dead_letters()]}
    print(json.dumps(out, indent=2, default=str))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tidemark", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def local_opts(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--data-dir", dest="data_dir", help="local data directory")

    s = sub.add_parser("serve", help="run the whole product locally")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--no-demo", action="store_true",
                   help="do not create the demo account with sample data")
    local_opts(s)
    s.set_defaults(func=cmd_serve)

    u = sub.add_parser("upload", help="upload a CSV, wait for ingestion, print the report")
    u.add_argument("file")
    u.add_argument("--dataset", default="sales")
    u.add_argument("--replace", action="store_true", help="replace the dataset's rows")
    u.add_argument("--server", default=None, help="API base URL (default: local stack)")
    u.add_argument("--email")
    u.add_argument("--password")
    u.add_argument("--no-wait", action="store_true")
    u.set_defaults(func=cmd_upload)

    k = sub.add_parser("keys", help="token signing keys")
    ksub = k.add_subparsers(dest="keys_command", required=True)
    kr = ksub.add_parser("rotate", help="add a new signing key; the previous stays valid")
    local_opts(kr)
    kr.set_defaults(func=cmd_keys_rotate)
    ki = ksub.add_parser("init", help="create the first key set if there is none")
    local_opts(ki)
    ki.set_defaults(func=cmd_keys_init)

    from shared.devstack.views import add_parsers

    add_parsers(sub)

    t = sub.add_parser("tasks", help="local task queue: counts and dead letters")
    local_opts(t)
    t.set_defaults(func=cmd_tasks)

    from shared.devstack import customers_cli

    customers_cli.add_parser(sub, local_opts)
    return p


def main(argv: list[str] | None = None) -> int:
    from shared.uploads.arrow_memory import prefer_jemalloc

    prefer_jemalloc()  # before anything imports Arrow
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
