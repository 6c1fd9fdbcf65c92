"""Budgets: cost centres, budgets per fiscal period and the ledger of the money requests hold."""
