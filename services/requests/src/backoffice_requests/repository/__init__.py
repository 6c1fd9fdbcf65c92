"""All SQL of the requests service: the aggregate, the read side, the timeline, deferred facts,
approver assignments, the vendor read model and the Idempotency-Key store."""
