"""Roles of the checklists API: ``hr`` and ``admin`` run checklists and edit templates; anyone signed in works items."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from backoffice_common.auth import User, require_roles

Hr = Annotated[User, Depends(require_roles("hr", "admin"))]
"""Who starts and cancels checklists, sees them all, edits templates and groups."""
