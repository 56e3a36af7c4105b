"""Forecasting: a median combination of complementary statistical models, rolling-
origin backtests and calibrated conformal intervals (engine), and the use cases that
serve and precompute forecasts of a dataset's measures (service).

Nothing heavy is imported here (the statistical models need only numpy; the
gradient-boosting candidate imports scikit-learn when it runs, on daily and weekly
data): the function imports what a request needs."""
