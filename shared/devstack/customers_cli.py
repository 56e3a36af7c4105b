"""`tidemark customers`: a dataset's customer analysis from the API (the stored result
the forecast task computed), as JSON, or the at-risk list / predictions as CSV."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

PARTS = ("summary", "cohorts", "segments", "predictions", "at_risk")


def add_parser(sub, local_opts: Callable[[argparse.ArgumentParser], None]) -> None:
    c = sub.add_parser("customers", help="cohorts, segments, predicted value, at-risk list")
    c.add_argument("--dataset", required=True, help="dataset id (GET /api/metrics/datasets)")
    c.add_argument("--part", choices=PARTS, default="summary")
    c.add_argument("--grain", choices=("month", "week"), default="month")
    c.add_argument("--segment", help="only this RFM segment (part=predictions)")
    c.add_argument("--limit", type=int, default=50)
    c.add_argument("--all", action="store_true", help="follow every page")
    c.add_argument("--csv", action="store_true",
                   help="the at-risk list or the predictions as CSV")
    c.add_argument("--server", default=None, help="API base URL (default: local stack)")
    c.add_argument("--email")
    c.add_argument("--password")
    local_opts(c)
    c.set_defaults(func=customers_command)


def customers_command(args: argparse.Namespace) -> int:
    import requests

    from shared.devstack.upload import _error_text, _token
    from shared.settings import Settings

    server = (args.server or Settings().base_url).rstrip("/")
    session = requests.Session()
    try:
        token = _token(session, server, args)
    except (RuntimeError, requests.RequestException) as exc:
        print(f"tidemark customers: {exc}", file=sys.stderr)
        return 1
    if not token:
        print("tidemark customers: give --email and --password, or set TIDEMARK_TOKEN",
              file=sys.stderr)
        return 1
    session.headers["Authorization"] = f"Bearer {token}"
    if args.csv:
        part = args.part if args.part in ("at_risk", "predictions") else "at_risk"
        resp = session.get(f"{server}/api/metrics/customers/export",
                           params={"dataset": args.dataset, "part": part}, timeout=120)
        if resp.status_code != 200:
            print(f"tidemark customers: {_error_text(resp)}", file=sys.stderr)
            return 1
        sys.stdout.write(resp.text)
        return 0
    params = {"dataset": args.dataset, "part": args.part, "grain": args.grain,
              "limit": str(args.limit)}
    if args.segment:
        params["segment"] = args.segment
    pages = []
    while True:
        resp = session.get(f"{server}/api/metrics/customers", params=params, timeout=60)
        if resp.status_code != 200:
            print(f"tidemark customers: {_error_text(resp)}", file=sys.stderr)
            return 1
        body = resp.json()
        pages.append(body)
        token_next = body.get("next_page_token")
        if not (args.all and token_next):
            break
        params["page_token"] = token_next
    if len(pages) > 1:
        pages[0]["customers"] = [c for p in pages for c in p["customers"]]
        pages[0]["next_page_token"] = None
    print(json.dumps(pages[0], indent=2))
    return 0
