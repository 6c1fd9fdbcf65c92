"""HTTP routers of the budgets service: thin translations into use cases."""
