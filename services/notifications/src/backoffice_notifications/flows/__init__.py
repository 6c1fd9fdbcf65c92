"""Use cases shared by the consumers and the vendor-facing endpoints."""
