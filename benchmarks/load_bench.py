"""Load benchmark: simulated users against `tidemark serve` on loopback.

Each client is one simulated user: it signs in once (outside the measured window),
then loops over a realistic mix of actions with a think time between them until the
phase ends. Per route it reports requests, throughput, p50/p95/p99 latency and
errors; at the end it waits for every upload whose file was accepted to be ingested
and counts the ones that never reach `loaded` (lost uploads).

    .venv/bin/python benchmarks/load_bench.py                        # 50, 100, 200 x 60 s
    .venv/bin/python benchmarks/load_bench.py --short                # 10 clients x 5 s
    .venv/bin/python benchmarks/load_bench.py --clients 50 --duration 20 --saturation 10

The server is started as a subprocess on a free port with a fresh data directory
(or pass --base-url to drive a running stack that has no rate limits in the way).
Exit status 1 when any request failed or any upload was lost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "load-bench-" + secrets.token_hex(6)  # one password for every simulated user
SEED_ROWS = 400
SMALL_UPLOAD_ROWS = 20

# (route label, weight). Predictions are added when the predict function serves them.
MIX = [
    ("metrics_snapshot", 40),
    ("datasets", 10),
    ("me", 10),
    ("uploads_list", 10),
    ("refresh", 8),
    ("upload", 4),
    ("login", 2),
]
PREDICTIONS_WEIGHT = 16


# ----------------------------------------------------------------------------- stats

@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    error_samples: list[str] = field(default_factory=list)
    uploads: list[tuple[str, str]] = field(default_factory=list)  # (token key, upload id)

    def ok(self, route: str, ms: float) -> None:
        self.latencies[route].append(ms)

    def fail(self, route: str, why: str) -> None:
        self.errors[route] += 1
        if len(self.error_samples) < 20:
            self.error_samples.append(f"{route}: {why}")

    def rows(self, seconds: float) -> list[dict[str, Any]]:
        out = []
        for route in sorted(set(self.latencies) | set(self.errors)):
            lat = sorted(self.latencies.get(route, []))
            n = len(lat) + self.errors.get(route, 0)
            out.append({"route": route, "requests": n, "per_s": round(n / seconds, 1),
                        "p50_ms": _pct(lat, 50), "p95_ms": _pct(lat, 95),
                        "p99_ms": _pct(lat, 99), "errors": self.errors.get(route, 0)})
        return out


def _pct(values: list[float], p: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[p - 1], 1)


# ------------------------------------------------------------------------------ server

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    base_url: str
    proc: subprocess.Popen | None = None
    data_dir: Path | None = None
    log_path: Path | None = None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_server(data_dir: Path, log_path: Path) -> Server:
    """`tidemark serve` on a free loopback port. Every simulated user comes from
    127.0.0.1, so the per-address login/register limits are lifted for the run."""
    port = free_port()
    env = {**os.environ, "TIDEMARK_BACKEND": "local", "TIDEMARK_RATE_LOGIN_IP": "1000000/60",
           "TIDEMARK_RATE_REGISTER_IP": "1000000/60", "TIDEMARK_TASK_BACKOFF_BASE_S": "0.2"}
    exe = Path(sys.executable).with_name("tidemark")
    cmd = [str(exe), "serve", "--port", str(port), "--host", "127.0.0.1",
           "--data-dir", str(data_dir), "--no-demo"]
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    server = Server(f"http://127.0.0.1:{port}", proc, data_dir, log_path)
    import urllib.request

    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"tidemark serve exited early; see {log_path}")
        try:
            with urllib.request.urlopen(server.base_url + "/api/health", timeout=2):
                return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError("tidemark serve did not come up in 60 s")


# ------------------------------------------------------------------------------ client

def csv_bytes(rows: int, seed: int) -> bytes:
    rnd = random.Random(seed)
    lines = ["Order Date,Product,Region,Sales,Quantity"]
    for i in range(rows):
        day = 1 + i % 28
        month = 1 + (i // 28) % 12
        lines.append(f"2025-{month:02d}-{day:02d},Item {rnd.randint(1, 30)},"
                     f"{rnd.choice(['North', 'South', 'East', 'West'])},"
                     f"{rnd.uniform(5, 500):.2f},{rnd.randint(1, 9)}")
    return ("\n".join(lines) + "\n").encode()


class Api:
    """Thin JSON helpers over one aiohttp session, timing each call."""

    def __init__(self, session, base_url: str, stats: Stats) -> None:
        self.s, self.base, self.stats = session, base_url, stats

    async def call(self, route: str, method: str, path: str, *, expect: tuple[int, ...],
                   token: str | None = None, body: Any = None, raw: bytes | None = None,
                   headers: dict[str, str] | None = None, absolute: bool = False
                   ) -> Any:
        import aiohttp

        hdrs = dict(headers or {})
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        url = path if absolute else self.base + path
        started = time.perf_counter()
        try:
            async with self.s.request(method, url, json=body, data=raw, headers=hdrs) as resp:
                payload = await resp.read()
                ms = (time.perf_counter() - started) * 1000
                if resp.status not in expect:
                    self.stats.fail(route, f"HTTP {resp.status} {payload[:160]!r}")
                    return None
        except (TimeoutError, aiohttp.ClientError) as exc:
            self.stats.fail(route, f"{type(exc).__name__}: {exc}"[:200])
            return None
        self.stats.ok(route, ms)
        if payload and resp.content_type == "application/json":
            return json.loads(payload)
        return {}


@dataclass
class Account:
    email: str
    tenant_id: str
    dataset_id: str


def mailed_token(mail_dir: Path, address: str, page: str) -> str:
    """The token of the newest `page` link mailed to `address` by the server's folder
    mailer (the local stack writes each message to <data dir>/mail/*.eml)."""
    import email
    import re
    from email import policy

    for path in sorted(mail_dir.glob("*.eml"), reverse=True):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if address not in str(msg["To"]):
            continue
        body = msg.get_body(("plain",))
        found = re.search(re.escape(page) + r"#token=([A-Za-z0-9_-]+)",
                          body.get_content() if body is not None else "")
        if found:
            return found.group(1)
    raise RuntimeError(f"no {page} link mailed to {address} in {mail_dir}")


async def seed(api: Api, tenants: int, users_per_tenant: int,
               mail_dir: Path | None) -> list[Account]:
    """Tenants (each registered by its admin, who confirms the address through the
    mailed link before creating users), analysts created by the admin, and one ingested
    dataset per tenant whose snapshot the readers read."""
    if users_per_tenant > 1 and mail_dir is None:
        raise RuntimeError("creating analysts needs the admin's address confirmed: pass "
                           "--mail-dir <the server's data dir>/mail")
    accounts: list[Account] = []
    for t in range(tenants):
        admin = f"admin{t}-{secrets.token_hex(3)}@load.example.com"
        reg = await api.call("seed", "POST", "/api/auth/register", expect=(201,),
                             body={"email": admin, "password": PASSWORD,
                                   "tenant_name": f"Load tenant {t}"})
        if reg is None:
            raise RuntimeError(f"seeding failed: {api.stats.error_samples[-1:]}")
        token, tid = reg["access_token"], reg["tenant"]["id"]
        emails = [admin]
        if users_per_tenant > 1 and mail_dir is not None:
            verified = await api.call("seed", "POST", "/api/auth/email/verify", expect=(200,),
                                      body={"token": mailed_token(mail_dir, admin,
                                                                  "/verify-email")})
            if verified is None:
                raise RuntimeError(f"seeding failed: {api.stats.error_samples[-1:]}")
        for u in range(users_per_tenant - 1):
            email = f"analyst{t}-{u}-{secrets.token_hex(3)}@load.example.com"
            made = await api.call("seed", "POST", "/api/auth/users", token=token, expect=(201,),
                                  body={"email": email, "role": "analyst", "password": PASSWORD})
            if made is None:
                raise RuntimeError(f"seeding failed: {api.stats.error_samples[-1:]}")
            emails.append(email)
        upload_id = await put_file(api, "seed", token, "sales", csv_bytes(SEED_ROWS, t))
        if upload_id is None:
            raise RuntimeError(f"seed upload failed: {api.stats.error_samples[-1:]}")
        dataset_id = await wait_snapshot(api, token, upload_id)
        accounts += [Account(e, tid, dataset_id) for e in emails]
    return accounts


async def put_file(api: Api, route: str, token: str, dataset: str, data: bytes) -> str | None:
    created = await api.call(f"{route}:create", "POST", "/api/uploads", token=token,
                             expect=(201,), body={"filename": "load.csv", "size_bytes": len(data),
                                                  "dataset": dataset, "mode": "append"})
    if created is None:
        return None
    put = await api.call(f"{route}:put", "PUT", created["upload_url"], raw=data, absolute=True,
                         headers=created["headers"], expect=(200, 201))
    return created["upload"]["id"] if put is not None else None


async def wait_snapshot(api: Api, token: str, upload_id: str, timeout_s: float = 120) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        up = await api.call("seed", "GET", f"/api/uploads/{upload_id}", token=token,
                            expect=(200,))
        if up and up["status"] == "loaded":
            ds = up["dataset_id"]
            view = await api.call("seed", "GET", f"/api/metrics?dataset={ds}", token=token,
                                  expect=(200,))
            if view and view.get("source") == "snapshot":
                return ds
        if up and up["status"] == "failed":
            raise RuntimeError(f"seed upload failed: {up.get('error')}")
        await asyncio.sleep(0.3)
    raise RuntimeError("the seed dataset did not get a snapshot in time")


class User:
    """One simulated user: a session, and actions picked from the mix."""

    def __init__(self, api: Api, account: Account, think_s: float, rnd: random.Random,
                 mix: list[tuple[str, int]]) -> None:
        self.api, self.acct, self.think_s, self.rnd = api, account, think_s, rnd
        self.routes = [r for r, _ in mix]
        self.weights = [w for _, w in mix]
        self.access: str | None = None
        self.refresh: str | None = None

    async def login(self, route: str = "login") -> bool:
        got = await self.api.call(route, "POST", "/api/auth/login", expect=(200,),
                                  body={"email": self.acct.email, "password": PASSWORD})
        if got:
            self.access, self.refresh = got["access_token"], got["refresh_token"]
        return bool(got)

    async def think(self) -> None:
        if self.think_s > 0:
            await asyncio.sleep(self.rnd.uniform(0.5, 1.5) * self.think_s)

    async def run(self, until: float, first: int = 0) -> None:
        # The first action goes round the mix by client number, so every route of the
        # mix is exercised in every phase with at least as many clients as routes.
        route = self.routes[first % len(self.routes)]
        while time.monotonic() < until:
            await self.act(route)
            await self.think()
            route = self.rnd.choices(self.routes, self.weights)[0]

    async def act(self, route: str) -> None:
        api, ds = self.api, self.acct.dataset_id
        if route == "metrics_snapshot":
            await api.call(route, "GET", f"/api/metrics?dataset={ds}", token=self.access,
                           expect=(200,))
        elif route == "predictions":
            await api.call(route, "GET", f"/api/predictions?dataset={ds}", token=self.access,
                           expect=(200,))
        elif route == "datasets":
            await api.call(route, "GET", "/api/metrics/datasets", token=self.access,
                           expect=(200,))
        elif route == "me":
            await api.call(route, "GET", "/api/auth/me", token=self.access, expect=(200,))
        elif route == "uploads_list":
            await api.call(route, "GET", "/api/uploads?page_size=20", token=self.access,
                           expect=(200,))
        elif route == "refresh":
            got = await api.call(route, "POST", "/api/auth/refresh", expect=(200,),
                                 body={"refresh_token": self.refresh})
            if got:
                self.access, self.refresh = got["access_token"], got["refresh_token"]
        elif route == "login":
            await self.login()
        elif route == "upload":
            data = csv_bytes(SMALL_UPLOAD_ROWS, self.rnd.randint(0, 10**6))
            upload_id = await put_file(api, "upload", self.access or "", "incoming", data)
            if upload_id:
                api.stats.uploads.append((self.acct.email, upload_id))


async def predictions_available(api: Api) -> bool:
    spec = await api.call("openapi", "GET", "/api/openapi.json", expect=(200,))
    return bool(spec) and any(p.startswith("/api/predictions") and p != "/api/predictions/health"
                              for p in spec.get("paths", {}))


@asynccontextmanager
async def session(max_conn: int):
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=60)
    conn = aiohttp.TCPConnector(limit=max_conn, force_close=False)
    async with aiohttp.ClientSession(timeout=timeout, connector=conn) as s:
        yield s


async def phase(base_url: str, accounts: list[Account], clients: int, duration: float,
                think_s: float, mix: list[tuple[str, int]], seed_: int) -> tuple[Stats, float]:
    stats = Stats()
    async with session(clients + 4) as s:
        api = Api(s, base_url, stats)
        users = [User(api, accounts[i % len(accounts)], think_s, random.Random(seed_ + i), mix)
                 for i in range(clients)]
        # Sign in (not measured): a user logs in once per session, not once per action.
        login_stats = Stats()
        warm = Api(s, base_url, login_stats)
        for u in users:
            u.api = warm
        sem = asyncio.Semaphore(8)

        async def sign_in(u: User) -> None:
            async with sem:
                await u.login("session_login")
        await asyncio.gather(*(sign_in(u) for u in users))
        if login_stats.errors:
            stats.errors.update(login_stats.errors)
            stats.error_samples += login_stats.error_samples
        for u in users:
            u.api = api
        started = time.monotonic()
        until = started + duration

        async def run(i: int, u: User) -> None:
            await asyncio.sleep(u.rnd.uniform(0, max(think_s, 0.05)))  # desynchronise
            await u.run(until, first=i)
        await asyncio.gather(*(run(i, u) for i, u in enumerate(users)))
        return stats, time.monotonic() - started


async def drain_uploads(base_url: str, accounts: list[Account], uploads: list[tuple[str, str]],
                        timeout_s: float) -> dict[str, Any]:
    """Wait for every accepted upload to reach `loaded`; the rest are lost."""
    pending = dict.fromkeys(uploads, "unknown")
    by_email = {a.email: a for a in accounts}
    stats = Stats()
    async with session(8) as s:
        api = Api(s, base_url, stats)
        tokens: dict[str, str] = {}
        for email in {e for e, _ in uploads}:
            u = User(api, by_email[email], 0, random.Random(0), MIX)
            if await u.login("drain"):
                tokens[email] = u.access or ""
        deadline = time.monotonic() + timeout_s
        while pending and time.monotonic() < deadline:
            for key in list(pending):
                email, upload_id = key
                up = await api.call("drain", "GET", f"/api/uploads/{upload_id}",
                                    token=tokens.get(email), expect=(200,))
                status = (up or {}).get("status", "unknown")
                if status == "loaded":
                    del pending[key]
                else:
                    pending[key] = status
            if pending:
                await asyncio.sleep(0.5)
    by_status: dict[str, int] = defaultdict(int)
    for status in pending.values():
        by_status[status] += 1
    return {"accepted": len(uploads), "loaded": len(uploads) - len(pending),
            "lost": len(pending), "lost_by_status": dict(by_status)}


# ------------------------------------------------------------------------------ report

def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n### {title}\n")
    print("| route | requests | req/s | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        cells = [r["route"], r["requests"], r["per_s"], r["p50_ms"], r["p95_ms"], r["p99_ms"],
                 r["errors"]]
        print("| " + " | ".join("-" if c is None else str(c) for c in cells) + " |")
    total = sum(r["requests"] for r in rows)
    print(f"| **all** | {total} | {round(sum(r['per_s'] for r in rows), 1)} | | | | "
          f"{sum(r['errors'] for r in rows)} |")


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    server = None
    tmp = None
    mail_dir = Path(args.mail_dir) if args.mail_dir else None
    try:
        if args.base_url:
            base_url = args.base_url.rstrip("/")
        else:
            tmp = Path(tempfile.mkdtemp(prefix="tidemark-load-"))
            data_dir = Path(args.data_dir) if args.data_dir else tmp / "data"
            server = start_server(data_dir, Path(args.server_log or tmp / "server.log"))
            base_url = server.base_url
            mail_dir = data_dir / "mail"
        mix = list(MIX)
        seed_stats = Stats()
        async with session(8) as s:
            api = Api(s, base_url, seed_stats)
            has_predictions = await predictions_available(api)
            if has_predictions:
                mix.append(("predictions", PREDICTIONS_WEIGHT))
            tenants = max(1, max(args.clients) // 25)
            accounts = await seed(api, tenants, args.users_per_tenant, mail_dir)
        result: dict[str, Any] = {"think_s": args.think, "duration_s": args.duration,
                                  "predictions": has_predictions, "phases": [],
                                  "tenants": tenants, "accounts": len(accounts)}
        if not has_predictions:
            print("note: /api/predictions has no routes in /api/openapi.json yet; "
                  "predictions are left out of the mix", flush=True)
        all_uploads: list[tuple[str, str]] = []
        for i, clients in enumerate(args.clients):
            stats, secs = await phase(base_url, accounts, clients, args.duration, args.think,
                                      mix, seed_=1000 * (i + 1))
            rows = stats.rows(secs)
            all_uploads += stats.uploads
            result["phases"].append({"clients": clients, "think_s": args.think,
                                     "seconds": round(secs, 1), "routes": rows,
                                     "error_samples": stats.error_samples})
            print_table(f"{clients} clients, think {args.think} s, {secs:.0f} s", rows)
            for sample in stats.error_samples[:5]:
                print("  error:", sample)
        if args.saturation:
            reads = [("metrics_snapshot", 1)]
            stats, secs = await phase(base_url, accounts, args.saturation, args.duration, 0,
                                      reads, seed_=99)
            rows = stats.rows(secs)
            result["saturation"] = {"clients": args.saturation, "seconds": round(secs, 1),
                                    "routes": rows}
            print_table(f"saturation: {args.saturation} clients, no think time, snapshot "
                        f"reads only, {secs:.0f} s", rows)
        drained = await drain_uploads(base_url, accounts, all_uploads, args.drain)
        result["uploads"] = drained
        print(f"\nuploads: {json.dumps(drained)}")
        result["errors"] = sum(r["errors"] for p in result["phases"] for r in p["routes"])
        result["errors"] += sum(r["errors"] for r in result.get("saturation", {})
                                .get("routes", []))
        return result
    finally:
        if server:
            server.stop()
        if tmp and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, nargs="+", default=[50, 100, 200])
    p.add_argument("--duration", type=float, default=60.0, help="seconds per phase")
    p.add_argument("--think", type=float, default=1.0,
                   help="mean think time in seconds (uniform 0.5x-1.5x); 0 for none")
    p.add_argument("--saturation", type=int, default=0, metavar="CLIENTS",
                   help="also run snapshot reads with no think time at this many clients")
    p.add_argument("--users-per-tenant", type=int, default=5)
    p.add_argument("--drain", type=float, default=180.0,
                   help="seconds to wait for accepted uploads to be loaded")
    p.add_argument("--short", action="store_true", help="10 clients for 5 s (smoke run)")
    p.add_argument("--base-url", help="drive a running stack instead of starting one")
    p.add_argument("--mail-dir", help="with --base-url: the stack's mail folder "
                   "(<data dir>/mail), to confirm the seeded admins' addresses")
    p.add_argument("--server-log", help="where the started server's log lines go")
    p.add_argument("--data-dir", help="data directory of the started server (default: a "
                   "temporary one, removed afterwards)")
    p.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args(argv)
    if args.short:
        args.clients, args.duration, args.drain = [10], 5.0, 90.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = asyncio.run(main_async(args))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    failed = result["errors"] or result["uploads"]["lost"]
    print("\nRESULT:", "FAIL" if failed else "OK",
          f"errors={result['errors']} lost_uploads={result['uploads']['lost']}")
    return 1 if failed else 0


if __name__ == "__main__":
    with suppress(KeyboardInterrupt):
        sys.exit(main())
