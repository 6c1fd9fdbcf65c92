"""The services accept the identity provider's RS256 tokens (password grant of a sample user against
the real Keycloak) and read the user's roles and claims from them."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest
from console_testkit import PASSWORDS


async def keycloak_token(user: str) -> str:
    async with httpx.AsyncClient() as http:
        r = await http.post(
            os.environ["BACKOFFICE_OIDC_ISSUER"] + "/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": "backoffice-cli",
                "username": user,
                "password": PASSWORDS[user],
            },
        )
        r.raise_for_status()
        return str(r.json()["access_token"])


async def test_a_requesters_keycloak_token_creates_a_draft_in_her_name(console_platform: dict[str, Any]) -> None:
    token = await keycloak_token("rita")
    urls = console_platform["urls"]
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
        r = await http.get(f"{urls['requests']}/requests", params={"requester": "rita"})
        assert r.status_code == 200, r.text
        body = {
            "title": "Token check",
            "vendor_id": "no-such-vendor",
            "currency": "EUR",
            "cost_center": "CC-1",
            "department": "ENG",
            "category": "hardware",
            "needed_by": "2031-01-01",
            "lines": [{"description": "x", "quantity": "1", "unit": "pcs", "unit_price": "1"}],
        }
        r = await http.post(f"{urls['requests']}/requests", json=body, headers={"Idempotency-Key": "kc-1"})
        # authenticated as a requester: the answer is about the unknown vendor, not about the token
        assert r.status_code == 422, r.text
        assert "vendor" in r.text


@pytest.mark.parametrize(("user", "status"), [("ada", 200), ("max", 403), ("fiona", 403)])
async def test_roles_come_from_the_keycloak_token(console_platform: dict[str, Any], user: str, status: int) -> None:
    token = await keycloak_token(user)
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
        r = await http.get(f"{console_platform['urls']['approvals']}/directory/approvers")
        # the directory is for admins: ada is one, max an approver, fiona has no back-office role
        assert r.status_code == status, r.text


async def test_a_token_of_another_issuer_is_refused(console_platform: dict[str, Any]) -> None:
    token = await keycloak_token("max")
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {tampered}"}) as http:
        r = await http.get(f"{console_platform['urls']['approvals']}/tasks")
        assert r.status_code == 401
