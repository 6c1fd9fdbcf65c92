"""Fixtures of the insights service's tests: a running service on the real infrastructure, fed by real topics."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from insights_testkit import Insights, running_insights

from backoffice_common.testing import unique_prefix


@pytest.fixture(scope="session")
async def insights() -> AsyncIterator[Insights]:
    async with running_insights(unique_prefix()) as service:
        yield service
