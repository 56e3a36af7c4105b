"""Metrics and insights: KPIs, series, breakdowns, anomalies and plain-language
insights for one tenant's dataset, computed in the warehouse and served from
snapshots. Entry points: `shared.metrics.service`."""
