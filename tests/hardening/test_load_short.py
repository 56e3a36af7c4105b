"""The load benchmark's short mode (10 simulated users for 5 s against `tidemark
serve` in a subprocess): no request fails, no accepted upload is lost, and the
server's log lines carry no credential."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import threading
from pathlib import Path

from tests.hardening.logscan import leaks, stored_secret_values

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("load_bench", ROOT / "benchmarks" /
                                                  "load_bench.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_short_load_run_has_no_errors_and_loses_no_upload(tmp_path):
    bench = _bench()
    log_path, data_dir = tmp_path / "server.log", tmp_path / "data"
    args = bench.parse_args(["--short", "--server-log", str(log_path),
                             "--data-dir", str(data_dir)])
    # A fresh thread has no event loop, whatever an earlier test in this worker left
    # running on the main thread (Playwright's sync API keeps one there).
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["result"] = asyncio.run(bench.main_async(args))
        except BaseException as exc:
            box["error"] = exc

    runner = threading.Thread(target=run)
    runner.start()
    runner.join(600)
    if "error" in box:
        raise box["error"]
    assert "result" in box, "the short load run did not finish in 10 minutes"
    result = box["result"]

    (phase,) = result["phases"]
    routes = {r["route"]: r for r in phase["routes"]}
    assert result["errors"] == 0, phase["error_samples"]
    assert all(r["errors"] == 0 for r in routes.values()), phase["error_samples"]
    assert routes["metrics_snapshot"]["requests"] > 0
    assert result["uploads"]["accepted"] > 0, "no upload was made: the check would be vacuous"
    assert result["uploads"]["lost"] == 0, result["uploads"]
    assert result["uploads"]["loaded"] == result["uploads"]["accepted"]

    lines = [ln for ln in log_path.read_text(errors="replace").splitlines()
             if ln.startswith("{")]
    assert any(json.loads(ln).get("logger") == "tidemark.access" for ln in lines)
    found = leaks(lines, [bench.PASSWORD, *stored_secret_values(data_dir)])
    assert not found, "credentials in the server's log:\n" + "\n".join(found[:10])
