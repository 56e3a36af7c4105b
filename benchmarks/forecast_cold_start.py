"""Cold start of the predict function: a fresh interpreter imports functions/predict
and serves its first forecast (400 days of daily sales, default view of the grain).
Prints the import and first-request wall times, the process's CPU time (the fairer
figure on a shared, loaded machine), where the answer came from and whether
scikit-learn was imported.

    python benchmarks/forecast_cold_start.py                 # weekly, fitted on demand
    python benchmarks/forecast_cold_start.py --grain day     # daily: the GBM candidate runs
    python benchmarks/forecast_cold_start.py --grain day --precomputed
        # the forecast task stored the defaults first: the dashboard's first read
    python benchmarks/forecast_cold_start.py --grain day --country US
        # the tenant's holiday country set: the holidays package is imported and the
        # GBM gets holiday features
    python benchmarks/forecast_cold_start.py --grain week --dimension region
        # per-dimension forecasts (top 5 values), fitted on demand
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SETUP = r"""
import sys; sys.path.insert(0, {root!r}); sys.path.insert(0, {root!r} + "/tests")
from datetime import date, timedelta
import pandas as pd
from shared.settings import Settings
from shared.bootstrap import Deps, set_deps
from shared.auth.tokens import issue_access_token
from tests.support.metrics_data import load_frame
deps = Deps(Settings(backend="local", data_dir={data!r}))
rows = [(date(2024, 1, 1) + timedelta(days=i), 100.0 + i, 1.0, "p", "c", f"r{{i%5}}",
         f"c{{i%9}}", "web", f"o{{i}}") for i in range(400)]
frame = pd.DataFrame(rows, columns=["occurred_date", "amount", "quantity", "product",
                     "category", "region", "customer", "channel", "order_id"])
version = load_frame(deps, frame, __import__("pathlib").Path({data!r}), tenant_id="t_cold")
if {country!r}:
    deps.docs.set("tenants", "t_cold", {{"name": "Cold",
                                        "settings": {{"holiday_country": {country!r}}}}})
if {precomputed!r}:
    from shared.forecast import service
    service.precompute(deps, "t_cold", "ds_sales", version)
deps.docs.set("tenants/t_cold/users", "u_cold", {{"email": "a@b.c", "role": "viewer",
              "disabled": False}})
token, _ = issue_access_token(deps, user_id="u_cold", tenant_id="t_cold", role="viewer",
                              email="a@b.c")
open({data!r} + "/token", "w").write(token)
"""

MEASURE = r"""
import resource, time
t0 = time.perf_counter()
import sys; sys.path.insert(0, {root!r})
from functions_framework import create_app
app = create_app("predict_http", {root!r} + "/functions/predict/main.py")
from shared.settings import Settings
from shared.bootstrap import Deps, set_deps
set_deps(Deps(Settings(backend="local", data_dir={data!r})))
t1 = time.perf_counter()
token = open({data!r} + "/token").read()
resp = app.test_client().get("/api/predictions?dataset=ds_sales&grain={grain}{extra}",
                             headers={{"Authorization": "Bearer " + token}})
t2 = time.perf_counter()
assert resp.status_code == 200, resp.get_json()
cpu = resource.getrusage(resource.RUSAGE_SELF)
body = resp.get_json()
first = body["series"][0] if "series" in body else body
print(f"grain {grain}{extra}, source {{body['source']}}, model "
      f"{{[(c['name'], c['weight']) for c in first['model']['components']]}}, "
      f"series {{len(body.get('series', [body]))}}, holidays {{body.get('holiday_country')}}, "
      f"sklearn imported: {{'sklearn' in sys.modules}}, "
      f"holidays imported: {{'holidays' in sys.modules}}")
print(f"import {{t1 - t0:.2f}} s, first forecast {{t2 - t1:.2f}} s, total {{t2 - t0:.2f}} s "
      f"wall; {{cpu.ru_utime + cpu.ru_stime:.2f}} s CPU")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--grain", default="week", choices=["day", "week", "month"])
    ap.add_argument("--precomputed", action="store_true",
                    help="run the forecast task first, as after an upload")
    ap.add_argument("--country", default=None,
                    help="the tenant's holiday country (e.g. US); default none")
    ap.add_argument("--dimension", default=None,
                    help="ask for the per-value forecasts of this dimension (top 5)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fmt = {"root": str(ROOT), "data": tmp, "grain": args.grain,
               "precomputed": args.precomputed, "country": args.country,
               "extra": f"&dimension={args.dimension}&top=5" if args.dimension else ""}
        subprocess.run([sys.executable, "-c", SETUP.format(**fmt)], check=True)
        subprocess.run([sys.executable, "-c", MEASURE.format(**fmt)], check=True)


if __name__ == "__main__":
    main()
