"""Sale dates outside the range the warehouse layout keeps (1980-01-01 up to
2100-01-01: BigQuery's partitioned range and quotas, shared/ingest/values.py) are
quarantined with their own reason and counted in the report, never loaded and never
dropped unsaid."""

from __future__ import annotations

import io
from datetime import date

import pyarrow.parquet as pq

from shared.ingest import IngestOptions, stage

CSV = ("Order Date,Sales\n"
       "1979-12-31,10.00\n"   # the day before the range
       "1980-01-01,11.00\n"   # its first day
       "2024-06-30,12.00\n"
       "2099-12-31,13.00\n"   # its last day
       "2100-01-01,14.00\n"   # the first day after it
       "1900-05-05,15.00\n"
       "2024-07-01,16.00\n"
       "2024-07-02,17.00\n"
       "2024-07-03,18.00\n"
       "2024-07-04,19.00\n"
       "2024-07-05,20.00\n"
       "2024-07-06,21.00\n"
       "2024-07-07,22.00\n"
       + "".join(f"2024-08-{d:02d},5.00\n" for d in range(1, 9)))  # under the reject limit


def test_dates_outside_the_layouts_range_are_quarantined_and_counted(tmp_path):
    data = CSV.encode()
    staged = stage(lambda: io.BytesIO(data), IngestOptions("t_a", "d1", "u1"), tmp_path)
    report = staged.report.to_dict()

    assert report["rows_read"] == 21
    assert report["rows_rejected"] == 3
    assert report["rejected_by_reason"] == {"date_out_of_range": 3}
    assert sorted(e["value"] for e in report["examples"]) == [
        "1900-05-05", "1979-12-31", "2100-01-01"]
    assert any("date_out_of_range" in w for w in report["warnings"])
    loaded = pq.read_table(staged.parquet_path).column("occurred_date").to_pylist()
    assert min(loaded) == date(1980, 1, 1) and max(loaded) == date(2099, 12, 31)
    assert len(loaded) == 18
    assert staged.rejected_path is not None  # the quarantined rows are kept for download
