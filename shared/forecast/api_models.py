"""Query parameters and answer of the predictions API, as pydantic models: the OpenAPI
document is generated from them and a test checks real answers against it. The
parameters themselves are parsed by shared.forecast.request (repeated dimension
filters, horizon limits per grain)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, RootModel

from shared.metrics.models import DatasetId, FilterValues, Grain, MetricsCalendar

Measure = Literal["revenue", "orders", "units", "customers"]
Dimension = Literal["product", "category", "region", "customer", "channel"]

PREDICTION_ERRORS = {
    400: "A parameter is invalid; `details.field` names it. Codes: missing_parameter, "
         "invalid_parameter (measure, grain, dataset, horizon out of 1..max for the "
         "grain), repeated_parameter, unknown_filter, invalid_filter_value, "
         "too_many_values; dimension not one of the five, top out of 1..10 or without "
         "a dimension (invalid_parameter).",
    404: "The dataset does not exist in the caller's tenant (dataset_not_found) or has "
         "no rows (no_history)",
}
TASK_DOC = (
    "Precompute a dataset version's default forecasts (task queue only)",
    "Enqueued by the metrics task as forecast-{tenant}-{dataset}-v{version}. Fits every "
    "measure (revenue, orders, units, customers) at every grain with the default horizon, "
    "and revenue by week for each of the five largest values of every dimension, and "
    "stores them under tenants/{tid}/forecasts. A task for a version that is no "
    "longer current does nothing. A permanent failure (malformed payload, missing "
    "dataset) answers 200 with status \"failed\" so it is not retried; a transient one "
    "answers 503.")


class PredictionQuery(BaseModel):
    """Any other query parameter must be a dimension (product, category, region,
    customer, channel) and filters on it; repeat it for several values."""

    dataset: DatasetId
    measure: Measure = Field(default="revenue", description="Default revenue")
    grain: Grain = Field(default="week",
                         description="Default week (weeks from the tenant's week start)")
    horizon: int | None = Field(default=None, ge=1, le=90, description=(
        "Periods to forecast. Default 28 by day, 12 by week, 6 by month; at most 90, 52 "
        "and 24."))
    dimension: Dimension | None = Field(default=None, description=(
        "Forecast each of the top values of this dimension (by revenue over the history "
        "window) instead of the total: the answer is a PredictionBreakdown"))
    top: int | None = Field(default=None, ge=1, le=10, description=(
        "How many values of `dimension` (default 5, at most 10: each is fitted on its "
        "own)"))
    product: FilterValues | None = None
    category: FilterValues | None = None
    region: FilterValues | None = None
    customer: FilterValues | None = None
    channel: FilterValues | None = None


class PredictionComponent(BaseModel):
    name: Literal["seasonal_naive", "naive", "theta", "damped", "ets", "ar", "sba",
                   "gbm"] = Field(
        description="A member of the forecast: `gbm` is the gradient-boosting model, "
                    "present only when its backtest earned it a place (daily and weekly "
                    "data)")
    weight: float = Field(ge=0, le=1)


class PredictionModel(BaseModel):
    name: Literal["combination", "gbm", "naive", "seasonal_naive"] = Field(
        description='"combination" (a median of the statistical members, with or without '
                    'the GBM, or the even blend of that median and the GBM), "gbm" when '
                    "the GBM alone won the backtest, or the naive fallback of a history "
                    "too short to backtest")
    components: list[PredictionComponent]


class PredictionBaseline(BaseModel):
    name: Literal["seasonal_naive"]
    mase: float | None
    smape: float | None


class PredictionAccuracy(BaseModel):
    """Backtest figures of the combination (null when the history was too short to
    backtest). MASE is scaled by the in-sample seasonal naive error; the coverages are
    held out (each origin scored by intervals calibrated on the others)."""

    mase: float | None
    smape: float | None = Field(description="0-200 scale")
    coverage80: float | None = Field(ge=0, le=1)
    coverage95: float | None = Field(ge=0, le=1)
    backtest_origins: int = Field(ge=0)
    baseline: PredictionBaseline


class PredictionHistoryPoint(BaseModel):
    period: date
    label: str = Field(description="The period on the tenant's calendar")
    value: float


class PredictionPoint(BaseModel):
    period: date = Field(description="First day of the period")
    label: str = Field(description="The period as it reads on the tenant's calendar: "
                                   "2024-07-01, Week of 2024-07-07, Jul 2024")
    value: float
    lo80: float
    hi80: float
    lo95: float
    hi95: float


class Prediction(BaseModel):
    """The forecast.

    The history is the measure per period over the dataset's whole date range (zeros
    where nothing happened; a partial first or last period is left out), at most 3
    years by day, 5 years by week, 10 years by month. The forecaster combines seasonal
    naive, Theta, damped-trend smoothing and an autoregression on the changes by their
    step-by-step median; on daily and weekly data a gradient-boosting model joins when
    its backtest MASE is at least 10% lower than the median's and it wins at most of the
    six rolling origins (`model.components` says which models were used and the GBM's
    weight). The 80% and 95% intervals are calibrated on the chosen forecast's backtest
    errors. Counts and non-negative histories never get negative forecasts or bounds.
    Histories shorter than 6 periods get the (seasonal) naive forecast with wide
    intervals and no accuracy figures. The default views are precomputed by the forecast
    task after each load (`source: snapshot`); other views are computed on demand and
    cached per dataset version (`source: cache`)."""

    dataset: str
    version: int = Field(description="The dataset version the forecast was fitted on")
    measure: Measure
    grain: Grain
    horizon: int
    holiday_country: str | None = Field(None, description=(
        "The tenant's holiday country whose public holidays were calendar features "
        "(daily and weekly data); null for none"))
    model: PredictionModel
    accuracy: PredictionAccuracy
    history: list[PredictionHistoryPoint]
    forecast: list[PredictionPoint]
    calendar: MetricsCalendar = Field(description="The tenant's calendar the periods "
                                      "follow (weeks start on its week start)")
    computed_at: datetime
    source: Literal["snapshot", "cache", "on_demand"]


class PredictionSeries(BaseModel):
    """The forecast of one value of the dimension, fitted on that value's own history
    exactly as the total is (same members, backtest, intervals and accuracy report)."""

    value: str = Field(description="The dimension's value")
    revenue: float = Field(description="Its revenue over the history window (the rank)")
    model: PredictionModel
    accuracy: PredictionAccuracy
    history: list[PredictionHistoryPoint]
    forecast: list[PredictionPoint]


class PredictionBreakdown(BaseModel):
    """Forecasts per value of a dimension: one series for each of the `top` values by
    revenue over the history window (fewer when the dimension has fewer values), each
    with its own intervals and backtest accuracy. The forecast task stores the five
    largest values of every dimension for revenue by week after each load
    (`source: snapshot`); other views are fitted on demand and cached per dataset
    version."""

    dataset: str
    version: int
    measure: Measure
    grain: Grain
    horizon: int
    dimension: Dimension
    top: int = Field(ge=1, le=10)
    holiday_country: str | None
    calendar: MetricsCalendar = Field(description="The tenant's calendar the periods "
                                      "follow (weeks start on its week start)")
    series: list[PredictionSeries]
    computed_at: datetime
    source: Literal["snapshot", "cache", "on_demand"]


class PredictionAnswer(RootModel[Prediction | PredictionBreakdown]):
    """The total forecast (Prediction), or per-value forecasts (PredictionBreakdown)
    when the query names a `dimension`."""
