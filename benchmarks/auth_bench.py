"""Auth benchmark: cold start of every function, and login / verify throughput.

1. For each functions/<name>/main.py, in a fresh interpreter: wall time to import the
   module (as functions-framework does: from its file path) and the process's peak RSS
   afterwards, plus which heavy libraries the import pulled in.
2. In process, on a throwaway local stack: logins per second (argon2id verification,
   rate-limit and refresh-token writes included) through the auth function's HTTP
   entry point, and access-token verifications per second (`authenticate`, which also
   reads the user document) and signature-only verifications per second.

    .venv/bin/python benchmarks/auth_bench.py [--repeat 3] [--logins 20] [--verifies 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "numpy", "sklearn", "pyarrow", "google.cloud.bigquery", "duckdb")

COLD = r"""
import importlib.util, json, resource, sys, time
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location("main", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
elapsed = time.perf_counter() - t0
heavy = sorted({m.split(".")[0] if not m.startswith("google.cloud.") else m
                for m in sys.modules for h in json.loads(sys.argv[2])
                if m == h or m.startswith(h + ".")})
print(json.dumps({"import_s": elapsed, "base_rss_kib": base,
                  "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "heavy": heavy}))
"""


def cold_starts(repeat: int) -> list[dict]:
    rows = []
    for main in sorted(ROOT.glob("functions/*/main.py")):
        runs = []
        for _ in range(repeat):
            out = subprocess.run([sys.executable, "-c", COLD, str(main), json.dumps(HEAVY)],
                                 cwd=ROOT, capture_output=True, text=True, check=True,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)})
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        rows.append({"function": main.parent.name,
                     "import_ms": statistics.median(r["import_s"] for r in runs) * 1000,
                     "rss_mib": statistics.median(r["rss_kib"] for r in runs) / 1024,
                     "base_rss_mib": statistics.median(r["base_rss_kib"] for r in runs) / 1024,
                     "heavy": runs[-1]["heavy"]})
    return rows


class _Request:
    def __init__(self, token: str) -> None:
        self.headers = {"Authorization": f"Bearer {token}"}


def throughput(logins: int, verifies: int) -> dict:
    os.environ.setdefault("TIDEMARK_RATE_LOGIN_IP", "1000000/60")
    os.environ.setdefault("TIDEMARK_RATE_LOGIN_ACCOUNT", "1000000/60")
    from functions_framework import create_app

    from shared.auth.tokens import verify_access_token
    from shared.bootstrap import Deps, override
    from shared.log import configure
    from shared.settings import Settings
    from shared.web.authz import authenticate

    configure("WARNING")  # access logs would drown the figures

    with tempfile.TemporaryDirectory() as tmp:
        deps = Deps(Settings(backend="local", data_dir=Path(tmp) / "data"))
        with override(deps):
            client = create_app("auth_http", str(ROOT / "functions/auth/main.py"),
                                "http").test_client()
            creds = {"email": "bench@example.com", "password": "correct horse battery staple"}
            r = client.post("/api/auth/register", json={**creds, "tenant_name": "Bench"})
            assert r.status_code == 201, r.get_json()
            token = r.get_json()["access_token"]
            # The three outcomes interleaved, so load on a shared machine hits all alike.
            kinds = {"success": creds, "wrong_password": {**creds, "password": "wrong pw!!"},
                     "unknown_email": {**creds, "email": "nobody@example.com"}}
            times: dict[str, list[float]] = {k: [] for k in kinds}
            for _ in range(logins):
                for kind, body in kinds.items():
                    t0 = time.perf_counter()
                    status = client.post("/api/auth/login", json=body).status_code
                    times[kind].append(time.perf_counter() - t0)
                    assert status == (200 if kind == "success" else 401), status
            request = _Request(token)
            authenticate(request, deps)
            t0 = time.perf_counter()
            for _ in range(verifies):
                authenticate(request, deps)
            auth_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            for _ in range(verifies):
                verify_access_token(deps, token)
            verify_s = time.perf_counter() - t0
    return {"logins_per_s": len(times["success"]) / sum(times["success"]),
            **{f"{k}_ms": statistics.median(v) * 1000 for k, v in times.items()},
            "authenticate_per_s": verifies / auth_s, "verify_per_s": verifies / verify_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="cold starts per function")
    parser.add_argument("--logins", type=int, default=20)
    parser.add_argument("--verifies", type=int, default=2000)
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()

    rows = cold_starts(args.repeat)
    tp = throughput(args.logins, args.verifies)
    if args.json:
        print(json.dumps({"cold_starts": rows, "throughput": tp}, indent=2))
        return
    print(f"Cold import of functions/*/main.py (median of {args.repeat}, fresh interpreter)")
    print("| function | import ms | peak RSS MiB | interpreter RSS MiB | heavy libraries |")
    print("|---|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['function']} | {r['import_ms']:.0f} | {r['rss_mib']:.1f} | "
              f"{r['base_rss_mib']:.1f} | {', '.join(r['heavy']) or 'none'} |")
    print()
    print(f"Throughput ({args.logins} logins, {args.verifies} verifications, one thread)")
    print("| measure | value |")
    print("|---|---:|")
    print(f"| logins/s (HTTP entry point, argon2id m=19 MiB t=2 p=1) | {tp['logins_per_s']:.1f} |")
    print(f"| login latency, success, median (ms) | {tp['success_ms']:.1f} |")
    print(f"| login latency, wrong password, median (ms) | {tp['wrong_password_ms']:.1f} |")
    print(f"| login latency, unknown email, median (ms) | {tp['unknown_email_ms']:.1f} |")
    print(f"| authenticate()/s (verify + user lookup) | {tp['authenticate_per_s']:.0f} |")
    print(f"| verify_access_token()/s (signature + claims) | {tp['verify_per_s']:.0f} |")


if __name__ == "__main__":
    main()
