"""The ``Idempotency-Key`` store: one row per user and key, holding the answer once the command ran
(the platform's shared store, ``backoffice_common.idempotency``)."""

from __future__ import annotations

from backoffice_common.idempotency import IdempotencyStore as IdempotencyRepository
from backoffice_common.idempotency import StoredAnswer

__all__ = ["IdempotencyRepository", "StoredAnswer"]
