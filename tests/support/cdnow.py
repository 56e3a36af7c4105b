"""The CDNOW sample of Fader, Hardie & Lee (2005), as shipped in PyPI `lifetimes`
(tests/data/cdnow/CDNOW_sample.txt: customer id, sample id, date, CDs, dollars;
whitespace-aligned, no header): the calibration/holdout split of the paper."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "cdnow" / "CDNOW_sample.txt"
CALIBRATION_END = pd.Timestamp("1997-09-30")  # the end of week 39


def transactions() -> pd.DataFrame:
    frame = pd.read_csv(SAMPLE, sep=r"\s+", header=None,
                        names=["master_id", "customer", "date", "cds", "amount"],
                        dtype={"master_id": str, "customer": str, "date": str})
    frame["occurred_date"] = pd.to_datetime(frame["date"], format="%Y%m%d").dt.date
    return frame
