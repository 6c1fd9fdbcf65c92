"""HTTP routers of the insights service (thin: parse, call a read query or a use case, shape the answer)."""
