"""Logical Kafka topic names (a service's ``kafka_topic_prefix`` is added by ``ServiceSettings.topic``)."""

from __future__ import annotations

from typing import Final

REQUESTS: Final = "backoffice.requests"
APPROVALS: Final = "backoffice.approvals"
NOTIFICATIONS: Final = "backoffice.notifications"
CONTRACTS: Final = "backoffice.contracts"
VENDORS: Final = "backoffice.vendors"
"""Compacted: the latest record per vendor id is the vendor's current state."""
BUDGETS: Final = "backoffice.budgets"
COST_CENTRES: Final = "backoffice.cost_centres"
HR: Final = "backoffice.hr"
CHECKLISTS: Final = "backoffice.checklists"

COMPACTED: Final = frozenset({VENDORS})
"""Topics kept with ``cleanup.policy=compact``."""

__all__ = [
    "APPROVALS",
    "BUDGETS",
    "CHECKLISTS",
    "COMPACTED",
    "CONTRACTS",
    "COST_CENTRES",
    "HR",
    "NOTIFICATIONS",
    "REQUESTS",
    "VENDORS",
]
