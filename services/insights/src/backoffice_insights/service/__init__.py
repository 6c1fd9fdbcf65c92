"""Use cases: the only place a unit of work is committed (the consumer commits what a fold wrote)."""
