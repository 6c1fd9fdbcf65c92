"""Dependencies of the insights routes: who may read, the common filters, the service's settings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query

from backoffice_common.auth import User, require_roles
from backoffice_common.deps import settings_of
from backoffice_common.errors import Invalid
from backoffice_common.strings import NUL_FREE
from backoffice_insights.repository.reports import Scope
from backoffice_insights.settings import Settings

Reader = Annotated[User, Depends(require_roles("procurement", "admin"))]
Admin = Annotated[User, Depends(require_roles("admin"))]
InsightsSettings = Annotated[Settings, Depends(settings_of(Settings))]

Name = Annotated[str | None, Query(min_length=1, max_length=200, pattern=NUL_FREE)]


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if not datetime.min.replace(tzinfo=UTC) < value < datetime.max.replace(tzinfo=UTC):
        raise Invalid(f"{name} is out of range", field=name)
    return value


async def scope(
    start: Annotated[datetime | None, Query(alias="from", description="figures at or after (RFC 3339)")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="figures before (RFC 3339)")] = None,
    department: Name = None,
    cost_center: Name = None,
    category: Name = None,
    vendor_id: Name = None,
) -> Scope:
    start, end = _aware(start, "from"), _aware(end, "to")
    if start is not None and end is not None and end <= start:
        raise Invalid("'to' must be after 'from'", field="to")
    return Scope(start, end, department, cost_center, category, vendor_id)


async def as_of(
    value: Annotated[
        datetime | None, Query(alias="as_of", description="the instant ages are measured at; now by default")
    ] = None,
) -> datetime:
    return _aware(value, "as_of") or datetime.now(UTC)


ScopeDep = Annotated[Scope, Depends(scope)]
AsOf = Annotated[datetime, Depends(as_of)]
