"""The at-risk list or every customer's predictions as CSV, from the stored pages.
Text cells a spreadsheet would run as a formula are neutralised."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from shared.csvcells import neutralize
from shared.customers import service
from shared.customers.models import CustomersRequest

if TYPE_CHECKING:
    from shared.bootstrap import Deps

COLUMNS = ("customer", "segment", "recency_days", "frequency", "monetary", "p_alive",
           "p_alive_change", "expected_spend", "purchases_12m", "value_12m",
           "value_12m_lo", "value_12m_hi")


def to_csv(deps: Deps, tenant_id: str, dataset_id: str, part: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    offset = 0
    while True:
        page = service.get(deps, tenant_id, CustomersRequest(
            dataset=dataset_id, part=part, offset=offset, limit=service.PAGE_ROWS))
        for row in page["customers"]:
            writer.writerow([neutralize(row.get(c)) if isinstance(row.get(c), str)
                             else ("" if row.get(c) is None else row.get(c))
                             for c in COLUMNS])
        if page["next_page_token"] is None:
            return out.getvalue()
        offset = int(page["next_page_token"])
