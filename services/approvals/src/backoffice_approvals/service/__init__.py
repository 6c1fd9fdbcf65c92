"""Use cases: keyword-only async functions taking the unit of work; the only place that commits."""
