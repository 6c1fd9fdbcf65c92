"""The REST API: thin routers that call one use case or query each; errors are mapped in ``problems``."""

from backoffice_contracts.api import contracts, documents, templates, verify

ROUTERS = [contracts.router, documents.router, verify.router, templates.router]

__all__ = ["ROUTERS"]
