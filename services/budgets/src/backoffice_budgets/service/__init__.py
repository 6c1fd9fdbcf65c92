"""Use cases of the budgets service: keyword-only functions, the only place that commits."""
