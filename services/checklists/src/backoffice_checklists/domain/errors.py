"""Refusals of the checklists domain; each maps to a problem in ``api/problems.py``."""

from __future__ import annotations

from backoffice_common.errors import Conflict, Invalid


class InvalidTemplate(Invalid):
    """A template that can never be instantiated (unknown dependency, a cycle, a bad anchor)."""


class InvalidEvidence(Invalid):
    """The evidence given for an item is not the evidence the item asks for."""


class ItemNotReady(Conflict):
    """An item whose dependencies are not all done yet."""


class ChecklistClosed(Conflict):
    """The checklist is completed or cancelled: nothing changes any more."""
