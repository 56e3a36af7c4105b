"""Anomalies respect weekly seasonality; insights describe them with their numbers."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from shared.metrics import anomalies

START = date(2024, 1, 1)  # a Monday


def seasonal(days: int, seed: int = 7) -> list[tuple[date, float]]:
    """Weekdays around 100, weekends around 300, with a little noise."""
    rng = random.Random(seed)
    out = []
    for i in range(days):
        d = START + timedelta(days=i)
        base = 300.0 if d.weekday() >= 5 else 100.0
        out.append((d, base * (1 + rng.uniform(-0.08, 0.08))))
    return out


def test_weekly_pattern_alone_is_not_an_anomaly():
    values = seasonal(140)
    found = anomalies.detect(values, values[70][0], values[-1][0])
    assert found == []


def test_a_spike_on_a_tuesday_is_found_with_its_expected_value():
    values = seasonal(140)
    spike_day = date(2024, 4, 16)
    assert spike_day.weekday() == 1
    values = [(d, 400.0 if d == spike_day else v) for d, v in values]
    found = anomalies.detect(values, date(2024, 3, 1), values[-1][0])
    assert [a["date"] for a in found] == ["2024-04-16"]
    a = found[0]
    assert a["weekday"] == "Tuesday" and a["actual"] == 400.0
    assert a["expected"] == pytest.approx(100, rel=0.1)
    assert a["score"] > anomalies.THRESHOLD and a["severity"] == "high"


def test_a_drop_on_a_weekend_day_is_found():
    values = seasonal(140)
    drop = date(2024, 4, 20)  # a Saturday, normally ~300
    values = [(d, 100.0 if d == drop else v) for d, v in values]
    found = anomalies.detect(values, date(2024, 3, 1), values[-1][0])
    assert [(a["date"], a["score"] < 0) for a in found] == [("2024-04-20", True)]


def test_days_outside_the_data_are_not_scored():
    values = seasonal(140)
    last = date(2024, 4, 1)
    zeros_after = [(d, 0.0 if d > last else v) for d, v in values]
    found = anomalies.detect(zeros_after, date(2024, 3, 1), values[-1][0], last=last)
    assert found == []
    # Without knowing where the data ends, those zero days would all be alarms.
    assert anomalies.detect(zeros_after, date(2024, 3, 1), values[-1][0]) != []


def test_too_little_history_gives_no_scores():
    values = seasonal(14)
    assert anomalies.detect(values, values[0][0], values[-1][0]) == []


def test_severity_bands():
    assert anomalies.severity(3.6) == "low"
    assert anomalies.severity(-5.5) == "medium"
    assert anomalies.severity(9) == "high"


def test_anomaly_insight_states_the_ratio_to_the_usual_weekday():
    from shared.metrics.insights import _anomaly_insight

    ins = _anomaly_insight({"date": "2017-03-07", "measure": "orders", "actual": 40.0,
                            "expected": 10.0, "score": 9.0, "weekday": "Tuesday"})
    assert ins["text"].startswith("Orders on 7 March 2017 were 4.0x the usual Tuesday")
    assert ins["numbers"]["ratio"] == 4.0 and ins["kind"] == "anomaly"
