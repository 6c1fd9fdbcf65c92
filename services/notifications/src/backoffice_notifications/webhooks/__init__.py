"""Adapter: outbound webhooks to vendors' systems (signed HTTP POST behind the SSRF guard)."""
