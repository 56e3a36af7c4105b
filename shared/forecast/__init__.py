"""Forecasting: statistical and gradient-boosting candidates, rolling-origin
backtests, inverse-error combination and conformal intervals (engine), and the use
cases that serve and precompute forecasts of a dataset's measures (service).

Nothing heavy is imported here: the function imports what a request needs."""
