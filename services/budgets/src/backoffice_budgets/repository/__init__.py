"""All SQL of the budgets service: one module per area, the unit of work that holds them."""
