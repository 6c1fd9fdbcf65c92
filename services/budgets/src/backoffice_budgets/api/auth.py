"""Roles for the budget API: ``finance`` (known to ``backoffice_common.auth``) writes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from backoffice_common.auth import User, require_roles

Finance = Annotated[User, Depends(require_roles("finance", "admin"))]
"""Who may define cost centres and budgets, move money, close periods and load rates."""
Reader = Annotated[User, Depends(require_roles("finance", "admin", "procurement", "approver"))]
"""Who may read budgets, ledgers and checks."""
