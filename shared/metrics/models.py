"""Query parameters and answers of the metrics API, as pydantic models: the OpenAPI
document is generated from them and a test checks real answers against it. The
parameters themselves are parsed by shared.metrics.view (repeated dimension filters
and their precise 400 codes do not fit a flat model)."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from shared.web.models import RequestModel

DatasetId = Annotated[str, Field(pattern="^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$",
                                 description="Dataset id")]
FilterValues = Annotated[list[Annotated[str, Field(min_length=1, max_length=256)]],
                         Field(max_length=50)]
Grain = Literal["day", "week", "month"]  # the forecast's grains
# The dashboard's grains, on the tenant's calendar (shared.calendars).
ViewGrain = Literal["day", "week", "month", "quarter", "year"]

VIEW_ERRORS = {
    400: "A parameter is invalid; `details.field` names it. Codes: missing_parameter, "
         "invalid_parameter, repeated_parameter, invalid_date, invalid_range, "
         "unknown_filter, invalid_filter_value, too_many_values, range_too_long.",
    404: "The dataset does not exist in the caller's tenant (dataset_not_found)",
}
VIEW_ERRORS[400] += (" With measure/breakdown/field filters: unknown_field, unknown_measure, "
                     "unknown_filter, not_a_number, not_a_text_field, invalid_expression.")
Agg = Literal["sum", "avg", "min", "max", "count", "count_distinct"]
TASK_DOC = (
    "Recompute a dataset's snapshot (task queue only)",
    "Called by the task queue after a load, named metrics-{tenant}-{dataset}-v{version}. "
    "Writes tenants/{tid}/snapshots/{dataset}, drops cache entries of older versions and "
    "enqueues the forecast task forecast-{tenant}-{dataset}-v{version}. A permanent "
    "failure (malformed payload, missing dataset) answers 200 with status \"failed\" so "
    "it is not retried; a transient one answers 503.")


class MetricsQuery(BaseModel):
    """Any other query parameter must be a text field of the dataset (a dimension:
    product, category, region, customer, channel, or any text field of the catalog)
    and filters on it; repeat it for several values (OR within a field, AND across
    fields)."""

    dataset: DatasetId
    start: date | None = Field(default=None, description="First day (inclusive)")
    end: date | None = Field(default=None, description="Last day (inclusive)")
    grain: ViewGrain | None = None
    top: int | None = Field(default=None, ge=1, le=100,
                            description="Values per breakdown (default 10)")
    product: FilterValues | None = None
    category: FilterValues | None = None
    region: FilterValues | None = None
    customer: FilterValues | None = None
    channel: FilterValues | None = None
    measure: str | None = Field(
        default=None, max_length=200,
        description="A field (see GET /api/metrics/datasets/{id}/fields), a business "
                    "measure (profit, margin, discount_rate, units_per_order) or a "
                    "calculated measure. Without it the view measures revenue (amount).")
    agg: Agg | None = Field(default=None, description="Aggregation of a field measure "
                            "(default sum for a number field, count otherwise)")
    breakdown: str | None = Field(default=None, max_length=200,
                                  description="A text field to break the view down by")


class ExportQuery(MetricsQuery):
    format: Literal["csv"] = "csv"
    part: Literal["series", "breakdowns"] = "series"


class MetricsDataQuality(BaseModel):
    """The warnings of the loads whose rows the dataset holds (newest first)"""

    warning_count: int
    uploads_with_warnings: int
    warnings: list[str] = Field(description="Up to 5 distinct warnings")
    upload_ids: list[str]


class MetricsDataset(BaseModel):
    id: str
    name: str
    version: int
    row_count: int
    created_at: datetime | None = None
    updated_at: datetime | None = None
    data_quality: MetricsDataQuality | None = None


class MetricsDatasets(BaseModel):
    """Datasets, by name"""

    datasets: list[MetricsDataset]


class MetricsDateRange(BaseModel):
    start: date | None
    end: date | None


class MetricsKpi(BaseModel):
    """value for the range; previous / year_ago for the comparison periods (null when
    unknown); change_pct / yoy_pct in percent, null when the base is null or zero (a
    negative base, net refunds, is measured against its size). aov and
    revenue_per_customer are null when there were no orders / customers."""

    value: float | None
    previous: float | None
    change_pct: float | None
    year_ago: float | None
    yoy_pct: float | None


class MetricsPoint(BaseModel):
    """One period of the complete spine (periods without data are zeros)."""

    period: date = Field(description="First day of the day / week / month / quarter / "
                               "year on the tenant's calendar")
    label: str = Field(description="The period as it reads: 2024-07-01, Week of "
                                   "2024-07-07, Jul 2024, FY2025 Q1, FY2025 P01, FY2025")
    revenue: float
    orders: int
    units: float
    customers: int
    value: float | None = Field(default=None, description="The requested measure "
                                "(present with `measure`; null for a period without lines)")
    margin: float | None = Field(default=None, description="Profit / revenue, present "
                                 "when the dataset has a profit column")


class MetricsBreakdownItem(BaseModel):
    value: str
    revenue: float
    share: float | None = Field(description="Fraction of the range's revenue")
    previous_revenue: float | None = None
    growth_pct: float | None
    rank: int
    previous_rank: int | None = Field(description="Rank in the previous period")
    measure: float | None = Field(default=None, description="The requested measure "
                                  "(with `measure`, the ranking is by it)")
    previous_measure: float | None = None
    margin: float | None = None
    previous_margin: float | None = None


class MetricsConcentrationPart(BaseModel):
    top10pct_share: float | None = None
    values: int | None = None


class MetricsConcentration(BaseModel):
    dimension: Literal["customer"] | None = None
    top10pct_share: float | None = Field(
        description="Share of revenue of the top 10% of customers (null if revenue <= 0)")
    values: int | None = None
    by_dimension: dict[str, MetricsConcentrationPart] | None = None


class MetricsBreakdowns(BaseModel):
    product: list[MetricsBreakdownItem]
    category: list[MetricsBreakdownItem]
    region: list[MetricsBreakdownItem]
    customer: list[MetricsBreakdownItem]
    channel: list[MetricsBreakdownItem]
    concentration: MetricsConcentration


class MetricsKpis(BaseModel):
    revenue: MetricsKpi
    orders: MetricsKpi
    units: MetricsKpi
    aov: MetricsKpi
    customers: MetricsKpi
    new_customers: MetricsKpi
    returning_customers: MetricsKpi
    revenue_per_customer: MetricsKpi
    measure: MetricsKpi | None = Field(default=None, description="The requested measure")
    margin: MetricsKpi | None = Field(default=None, description="Profit / revenue (a "
                                      "fraction), when the dataset has a profit column")


class MetricsMeasureEcho(BaseModel):
    name: str
    agg: Agg | None = Field(description="null for a business or calculated measure")
    label: str
    unit: Literal["currency", "percent"] | None = None
    non_numeric_count: int | None = Field(
        default=None, description="Values of the field (in this dataset version) that "
                                  "do not read as numbers and are left out; absent when 0")


class MetricsFieldBreakdown(BaseModel):
    """The breakdown by the requested field, ranked by the measure (by revenue without
    one)"""

    field: str
    items: list[MetricsBreakdownItem]


class MetricsAnomaly(BaseModel):
    date: dt.date
    measure: Literal["revenue", "orders"] | None = None
    expected: float = Field(description="Median of the same weekday over 8 weeks")
    actual: float
    score: float = Field(description="Robust z-score of the residual")
    severity: Literal["low", "medium", "high"]
    weekday: str | None = None


class MetricsInsight(BaseModel):
    text: str
    kind: str = Field(description="revenue_change, revenue_yoy, orders_change, aov_change, "
                      "customers_change, new_customers, concentration, region_decline, "
                      "channel_decline, anomaly")
    score: float = Field(description="Ranking weight, higher first")
    numbers: dict[str, Any] = Field(description="The figures the sentence was built from")


class MetricsComparison(BaseModel):
    previous: MetricsDateRange
    year_ago: MetricsDateRange


class MetricsCalendar(BaseModel):
    """The tenant's calendar the periods follow (shared.calendars): weeks start on
    `week_start`; quarters and years are fiscal from `fiscal_year_start_month`; with a
    `retail_calendar` months, quarters and years are whole weeks (4-4-5 style)"""

    time_zone: str
    week_start: Literal["monday", "sunday"]
    fiscal_year_start_month: int = Field(ge=1, le=12)
    retail_calendar: Literal["none", "4-4-5", "4-5-4", "5-4-4"]


class MetricsDatesPending(BaseModel):
    """The tenant's time zone changed after the dataset's rows were loaded: their
    business dates are those of `previous` until the dataset is uploaded again
    (replace) in `time_zone`"""

    time_zone: str
    previous: str | None = None


class MetricsView(BaseModel):
    """The view.

    Without `start` and `end` the view covers the last 90 days that have data (never
    before the dataset's first day) at day grain; with only `start` it runs to the last
    day of data, with only `end` it covers the 90 days up to it. Without `grain`, ranges
    up to 92 days are shown by day, up to two years by ISO week, longer ones by month.
    Each KPI is compared with the previous period of equal length and the same dates a
    year earlier (29 February maps to 28 February); a comparison period lying wholly
    before the dataset's first day has null figures. The default view is served from the
    snapshot the metrics task writes after each load (`source: snapshot`); other views
    are computed on demand and cached per dataset version (`source: cache`)."""

    source: Literal["snapshot", "cache", "on_demand"]
    dataset: str
    version: int = Field(description="Dataset version the view was computed for")
    range: MetricsDateRange | None = Field(
        description="The range shown; null for a dataset without rows")
    data_range: MetricsDateRange | None = None
    comparison: MetricsComparison | None = None
    grain: ViewGrain
    top: int | None = None
    filters: dict[str, list[str]]
    kpis: MetricsKpis
    series: list[MetricsPoint]
    breakdowns: MetricsBreakdowns
    anomalies: list[MetricsAnomaly]
    insights: list[MetricsInsight]
    computed_at: datetime
    measure: MetricsMeasureEcho | None = Field(default=None,
                                               description="The measure asked for")
    breakdown: MetricsFieldBreakdown | None = None
    calendar: MetricsCalendar | None = None
    dates_pending: MetricsDatesPending | None = Field(
        default=None, description="Set while a re-derive of the business dates is pending")


FieldType = Literal["number", "text", "date", "boolean"]


class MetricsField(BaseModel):
    name: str
    type: FieldType
    role: Literal["measure", "dimension", "date", "id"]
    canonical: bool = Field(description="A column of the canonical table (amount, "
                            "product, ...) rather than one kept in `extra`")
    null_share: float = Field(description="Share of the version's rows without a value")
    distinct_estimate: int = Field(description="Approximate number of distinct values")
    examples: list[str] = Field(max_length=5)
    unit: Literal["currency", "percent"] | None = None
    mixed_types: list[FieldType] | None = Field(
        default=None, description="The types the uploads of this version settled on, "
                                  "when they differ (the field is then a number field)")
    non_numeric_count: int | None = Field(
        default=None, description="Values of a number field that do not read as numbers "
                                  "(left out of its measures)")


class CalculatedMeasure(BaseModel):
    name: str
    expression: str
    label: str | None = None


class MetricsFields(BaseModel):
    """The field catalog of the dataset's current version"""

    dataset_id: str
    version: int
    fields: list[MetricsField]
    measures: list[CalculatedMeasure]
    business: list[Literal["profit", "margin", "discount_rate", "units_per_order"]]


class MetricsMeasures(BaseModel):
    measures: list[CalculatedMeasure]


class MeasureCreateRequest(RequestModel):
    name: str = Field(pattern="^[A-Za-z][A-Za-z0-9_]{0,63}$")
    expression: str = Field(min_length=1, max_length=500,
                            description="Arithmetic (+ - * / parentheses, numbers) over "
                                        "sum|avg|min|max|count|count_distinct(<field>); "
                                        "quote a field name with spaces: sum(\"Unit Cost\")")
    label: str | None = Field(default=None, max_length=120)


class MeasureDeleted(BaseModel):
    deleted: str
