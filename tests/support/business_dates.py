"""A file of sale times in every form the business-date rules cover, and the instant
and America/Los_Angeles business date each must load as (shared.ingest.business_time):
shared by the local upload-path tests and the emulator pipeline test."""

from __future__ import annotations

from datetime import UTC, date, datetime

# Offsets west and east of UTC, a Pacific daylight-saving change (2024-03-10 02:00 ->
# 03:00 and 2024-11-03 02:00 -> 01:00), naive timestamps and a zone name (Z).
ZONED = b"""order_date,amount
2014-05-11T23:30:00-07:00,10
2014-05-11T07:30:00+09:00,20
2024-03-10T09:30:00Z,30
2024-03-10 02:30:00,40
2024-11-03 01:30:00,50
2024-11-03 23:59:00,60
"""
# The instant each row must keep, and the business date in America/Los_Angeles.
EXPECTED = [
    (datetime(2014, 5, 12, 6, 30, tzinfo=UTC), date(2014, 5, 11)),   # -07:00 (PDT), evening
    (datetime(2014, 5, 10, 22, 30, tzinfo=UTC), date(2014, 5, 10)),  # +09:00, morning
    (datetime(2024, 3, 10, 9, 30, tzinfo=UTC), date(2024, 3, 10)),   # 01:30 PST
    (datetime(2024, 3, 10, 10, 0, tzinfo=UTC), date(2024, 3, 10)),   # in the gap
    (datetime(2024, 11, 3, 8, 30, tzinfo=UTC), date(2024, 11, 3)),   # first 01:30 PDT
    (datetime(2024, 11, 4, 7, 59, tzinfo=UTC), date(2024, 11, 3)),   # 23:59 PST
]
