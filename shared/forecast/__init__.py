"""Forecasting: a median combination of complementary statistical models, rolling-
origin backtests and calibrated conformal intervals (engine), and the use cases that
serve and precompute forecasts of a dataset's measures (service).

Nothing heavy is imported here (the forecaster itself needs only numpy): the function
imports what a request needs."""
