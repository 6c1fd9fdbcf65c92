"""The approvals domain: pure policy evaluation, routing and chain progression (no I/O)."""
