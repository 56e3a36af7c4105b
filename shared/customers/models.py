"""Query parameters and answers of the customers API as pydantic models: the OpenAPI
document is generated from them; `parse` validates a request's arguments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from shared import errors
from shared.metrics.models import DatasetId

SEGMENTS = ("champions", "loyal", "potential_loyalists", "new", "promising",
            "need_attention", "about_to_sleep", "at_risk", "cant_lose", "hibernating",
            "lost")
Part = Literal["summary", "cohorts", "segments", "predictions", "at_risk"]
Segment = Literal[SEGMENTS]  # type: ignore[valid-type]

CUSTOMERS_ERRORS = {
    400: "A parameter is invalid; `details.field` names it (invalid_parameter)",
    404: "The dataset does not exist (dataset_not_found), has no rows (no_history) or "
         "its customer analysis is not computed yet (customers_not_ready)",
}


class CustomersQuery(BaseModel):
    dataset: DatasetId
    part: Part = Field(default="summary", description="Which part of the analysis")
    grain: Literal["month", "week"] = Field(default="month",
                                            description="Cohort grain (part=cohorts)")
    segment: Segment | None = Field(default=None,
                                    description="Only this RFM segment (part=predictions)")
    page_token: str | None = Field(default=None, pattern="^[0-9]{1,9}$",
                                   description="next_page_token of the previous page")
    limit: int = Field(default=50, ge=1, le=500, description="Rows per page")


class CustomersExportQuery(BaseModel):
    dataset: DatasetId
    part: Literal["at_risk", "predictions"] = "at_risk"


class CustomerRow(BaseModel):
    customer: str
    recency_days: int
    frequency: int
    monetary: float
    r: int
    f: int
    m: int
    segment: str
    at_risk: bool
    p_alive: float | None = None
    p_alive_change: float | None = None
    expected_spend: float | None = None
    purchases_3m: float | None = None
    purchases_6m: float | None = None
    purchases_12m: float | None = None
    value_3m: float | None = None
    value_3m_lo: float | None = None
    value_3m_hi: float | None = None
    value_6m: float | None = None
    value_6m_lo: float | None = None
    value_6m_hi: float | None = None
    value_12m: float | None = None
    value_12m_lo: float | None = Field(default=None, description="80% interval, low")
    value_12m_hi: float | None = Field(default=None, description="80% interval, high")


class CustomersView(BaseModel):
    """One part of the stored analysis; the fields present depend on `part`."""

    dataset: str
    version: int
    computed_at: str
    as_of: str = Field(description="The data's last day: the analysis' today")
    lines: dict[str, Any] | None = Field(default=None, description=(
        "lines, lines_without_customer (excluded and reported), refund_lines, "
        "refund_amount, customers"))
    kpis: dict[str, Any] | None = None
    model: dict[str, Any] | None = Field(default=None, description=(
        "Fitted BG/NBD (r, alpha, a, b; weeks) and Gamma-Gamma (p, q, gamma)"))
    model_unavailable: str | None = None
    insight: str | None = None
    at_risk_share: float | None = None
    previous_at_risk_share: float | None = None
    at_risk_count: int | None = None
    previous_as_of: str | None = None
    grain: str | None = None
    cohorts: list[dict[str, Any]] | None = Field(default=None, description=(
        "cohort, customers, retention (share per period from 0), revenue_per_customer"))
    segments: list[dict[str, Any]] | None = None
    part: str | None = None
    segment: str | None = None
    total: int | None = None
    customers: list[CustomerRow] | None = None
    next_page_token: str | None = None


@dataclass(frozen=True)
class CustomersRequest:
    dataset: str
    part: str = "summary"
    grain: str = "month"
    segment: str | None = None
    offset: int = 0
    limit: int = 50


def _validate(model: type[BaseModel], args: Any) -> Any:
    raw = {k: args.get(k) for k in args}
    unknown = set(raw) - set(model.model_fields)
    if unknown:
        field = sorted(unknown)[0]
        raise errors.InvalidInput(f"unknown parameter '{field}'", code="invalid_parameter",
                                  details={"field": field})
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "query"
        raise errors.InvalidInput(f"{field}: {first['msg']}", code="invalid_parameter",
                                  details={"field": field}) from exc


def parse(args: Any) -> CustomersRequest:
    q = _validate(CustomersQuery, args)
    return CustomersRequest(dataset=q.dataset, part=q.part, grain=q.grain,
                            segment=q.segment, offset=int(q.page_token or 0), limit=q.limit)


def parse_export(args: Any) -> CustomersExportQuery:
    return _validate(CustomersExportQuery, args)
