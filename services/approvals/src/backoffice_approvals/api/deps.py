"""Dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request

from backoffice_approvals.domain.people import Person
from backoffice_approvals.settings import Settings
from backoffice_common.auth import User, require_roles
from backoffice_common.deps import settings_of
from backoffice_common.problems import Problem

SettingsDep = Annotated[Settings, Depends(settings_of(Settings))]
AdminUser = Annotated[User, Depends(require_roles("admin"))]


def person_of(user: User) -> Person:
    return Person(user.sub, user.name or user.sub, user.email)


def validation_problem(errors: list[tuple[str, str]], *, title: str = "Invalid input") -> Problem:
    listed: list[dict[str, Any]] = [{"location": loc, "message": msg} for loc, msg in errors[:50]]
    summary = "; ".join(f"{e['location']}: {e['message']}" for e in listed[:5])
    return Problem(422, title, summary, type="validation", errors=listed)


def pydantic_errors(exc: Any, *, prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False):
        path = prefix
        for part in err.get("loc", ()):
            if isinstance(part, int):
                path += f"[{part}]"
            else:
                path += ("." if path else "") + str(part)
        out.append((path or "body", str(err.get("msg", ""))))
    return out


async def read_body(request: Request, *, limit: int) -> bytes:
    body = await request.body()
    if len(body) > limit:
        raise Problem(413, "Content Too Large", f"the body is larger than {limit} bytes", type="too-large")
    if b"\x00" in body:
        raise Problem(422, "Invalid input", "the body contains a NUL byte", type="validation")
    return body


PathId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\x00/]+$")]
QueryId = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
