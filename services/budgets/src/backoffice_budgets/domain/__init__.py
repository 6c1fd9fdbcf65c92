"""Pure budget rules: periods, money, exchange rates, the ledger and what each request event does to it."""
