"""The metrics test data itself: the canonical rows follow the schema and the Superstore
sample is the whole orders file."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd

from tests.support.metrics_data import canonical_table, superstore_frame


def test_canonical_table_matches_the_schema():
    from shared.schema import BUSINESS_DATA

    frame = pd.DataFrame({"occurred_date": [date(2024, 2, 29)], "amount": [-12.5]})
    table = canonical_table(frame, "t1", "d1")
    assert table.column_names == [c.name for c in BUSINESS_DATA]
    assert table.column("amount").to_pylist() == [Decimal("-12.500000000")]
    assert table.column("product").to_pylist() == [None]


def test_superstore_sample_is_the_full_orders_file():
    frame = superstore_frame()
    assert len(frame) == 9994
    assert min(frame["occurred_date"]) == date(2014, 1, 3)
    assert max(frame["occurred_date"]) == date(2017, 12, 30)
