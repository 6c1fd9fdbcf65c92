"""Roles for the budget API, including ``finance``.

``backoffice_common.auth`` keeps only the roles requester, approver, procurement and admin from a
token, so ``finance`` would be dropped. Until the shared library knows it, this authenticator lets
the shared one verify the token (signature, audience, expiry) and then adds ``finance`` back from
the verified token's roles claim.
"""

from __future__ import annotations

from typing import Annotated

import jwt
from fastapi import Depends

from backoffice_common.auth import Authenticator, User, require_roles

EXTRA_ROLES = frozenset({"finance"})


class BudgetsAuthenticator(Authenticator):
    async def authenticate(self, token: str) -> User:
        user = await super().authenticate(token)
        claims = jwt.decode(token, options={"verify_signature": False})
        extra = {r for r in claims.get("roles", []) if isinstance(r, str) and r in EXTRA_ROLES}
        return user.model_copy(update={"roles": user.roles | extra}) if extra else user


Finance = Annotated[User, Depends(require_roles("finance", "admin"))]
"""Who may define cost centres and budgets, move money, close periods and load rates."""
Reader = Annotated[User, Depends(require_roles("finance", "admin", "procurement", "approver"))]
"""Who may read budgets, ledgers and checks."""
