"""The notifications service: vendor directory, email and webhook deliveries, the vendor webhook and signed links."""
