"""Metrics: indicators, time limits and composite scores (see the metrics issue)."""
