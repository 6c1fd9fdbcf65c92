"""The expiry job sleeps until the earliest open contract expires: a commit that wrote an expiry rings it.

A service of its own whose idle expiry job would look again only after a minute (and after 30 s for a
due contract it did not take): a contract generated with a signing period of a few seconds still
expires within moments of its ``expires_at``, because the generating commit rang ``EXPIRY_BELL``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from contracts_testkit import generate_contract

SIGNING_SECONDS = 6
SLACK = timedelta(seconds=3)  # the job's look, one commit and the relay


async def test_a_contract_expires_at_its_expiry_though_the_idle_job_would_look_only_a_minute_later(
    own_contracts_service: Callable[..., Any],
) -> None:
    async with own_contracts_service(
        signature_ttl_hours=SIGNING_SECONDS / 3600,
        expiry_poll_seconds=30.0,
        expiry_idle_poll_seconds=60.0,
    ) as env:
        generated, request = await generate_contract(env)
        expires_at = datetime.fromisoformat(generated.data["expires_at"])
        expired = await env.reader.wait_for("contract.expired", subject=request["request_id"], timeout=30)
        assert expired[0].data["contract_id"] == generated.data["contract_id"]
        assert expires_at <= expired[0].time <= expires_at + SLACK
