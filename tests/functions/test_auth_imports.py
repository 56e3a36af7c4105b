"""The auth function stays light: importing it and serving a login pulls in none of
the analytics stack (checked in a fresh interpreter, as on a cold start)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "numpy", "sklearn", "pyarrow", "google.cloud.bigquery", "duckdb",
         "holidays")

SCRIPT = r"""
import json, sys
from functions_framework import create_app

app = create_app("auth_http", sys.argv[1], "http")
client = app.test_client()
body = {"email": "cold@example.com", "password": "correct horse battery staple"}
r1 = client.post("/api/auth/register", json={**body, "tenant_name": "Cold"})
r2 = client.post("/api/auth/login", json=body)
r3 = client.get("/api/auth/me",
                headers={"Authorization": "Bearer " + r2.get_json()["access_token"]})
print(json.dumps({"status": [r1.status_code, r2.status_code, r3.status_code],
                  "modules": sorted(sys.modules)}))
"""


def test_auth_function_imports_none_of_the_heavy_libraries(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "TIDEMARK_BACKEND": "local",
           "TIDEMARK_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT / "functions/auth/main.py")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                         check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == [201, 200, 200]
    modules = set(result["modules"])
    assert "argon2" in modules and "jwt" in modules  # the login really ran
    loaded = sorted(m for m in modules for heavy in HEAVY
                    if m == heavy or m.startswith(heavy + "."))
    assert loaded == []
