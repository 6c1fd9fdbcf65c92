"""The authorization matrix: every operation of every service's OpenAPI document, tried with no token,
an expired one, one for another audience, one signed with another key, one with ``alg: none``, a
token of each role alone, and (where the path names someone's object) its owner and someone else.

The expected answers are kept in one table, ``authorization_matrix.yaml``; an operation without a row
(a new endpoint) or a row without an operation fails the test. The platform is the e2e one: the
services run as real processes, so what is checked is what a caller on the network would get. Input
is deliberately dummy (random ids, empty bodies): the test is about who gets past the gate, not
about what the operation then does.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from platform_kit import JWT_SECRET, SERVICES, Platform

from backoffice_cli.client import Cast, Person
from backoffice_cli.client import Platform as Client
from backoffice_common.auth import mint_token

TABLE = Path(__file__).with_name("authorization_matrix.yaml")
ROLES = ("requester", "approver", "procurement", "admin", "finance", "hr")
METHODS = ("get", "post", "put", "patch", "delete")
GATE = (401, 403)


@dataclass(frozen=True)
class Row:
    service: str
    method: str
    path: str
    roles: frozenset[str]
    public: int | None
    owner: str | None
    others: int | None


def load_table() -> dict[str, dict[str, Row]]:
    raw: dict[str, dict[str, dict[str, Any] | None]] = yaml.safe_load(TABLE.read_text())
    table: dict[str, dict[str, Row]] = {}
    for service, operations in raw.items():
        table[service] = {}
        for operation, spec in operations.items():
            spec = spec or {}
            unknown = set(spec) - {"roles", "public", "owner", "others"}
            assert not unknown, f"{service} {operation}: unknown columns {unknown}"
            method, path = operation.split(" ", 1)
            roles = frozenset(ROLES if spec.get("roles") == "all" else spec.get("roles", ()))
            assert roles <= set(ROLES), f"{service} {operation}: unknown roles {roles - set(ROLES)}"
            assert (spec.get("public") is None) != (not roles), f"{service} {operation}: either roles or public"
            table[service][operation] = Row(
                service, method, path, roles, spec.get("public"), spec.get("owner"), spec.get("others")
            )
    return table


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def bad_tokens() -> dict[str, str]:
    """Every token here carries every role: only the flaw named by the key may get it refused."""
    claims = {"sub": "intruder", "roles": list(ROLES), "department": "ENG"}
    now = int(time.time())
    unsigned = {"sub": "intruder", "roles": list(ROLES), "aud": "backoffice", "iat": now, "exp": now + 600}
    return {
        "expired": mint_token(secret=JWT_SECRET, ttl_seconds=-3600, **claims),  # type: ignore[arg-type]
        "wrong audience": mint_token(secret=JWT_SECRET, audience="another-system", **claims),  # type: ignore[arg-type]
        "wrong key": mint_token(secret="another-key-that-is-long-enough-for-hs256!!", **claims),  # type: ignore[arg-type]
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(unsigned)}.",
    }


def role_token(role: str) -> str:
    return mint_token(secret=JWT_SECRET, sub=f"matrix-{role}", roles=[role], department="ENG")


def person_token(who: Person) -> str:
    return mint_token(secret=JWT_SECRET, sub=who.id, roles=list(who.roles), department=who.department)


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                found[f"{method.upper()} {path}"] = item[method]
    return found


def dummy_path(path: str, spec: dict[str, Any], objects: dict[str, str] | None = None) -> str:
    for parameter in spec.get("parameters", []):
        if parameter["in"] != "path":
            continue
        name = parameter["name"]
        value = (objects or {}).get(name)
        if value is None:
            schema = parameter.get("schema", {})
            value = str(uuid.uuid4()) if schema.get("format") == "uuid" or name.endswith("_id") else "matrix-nothing"
            if schema.get("type") == "integer":
                value = "987654"
        path = path.replace("{" + name + "}", value)
    return path


def body_of(spec: dict[str, Any]) -> dict[str, Any]:
    if "requestBody" not in spec:
        return {}
    content = spec["requestBody"].get("content", {})
    if "application/x-www-form-urlencoded" in content:
        return {"data": {}}
    return {"json": {}}


@pytest.fixture(scope="module")
async def documents(platform: Platform) -> dict[str, dict[str, Any]]:
    async with httpx.AsyncClient(timeout=30) as http:
        return {s: (await http.get(f"{platform.url(s)}/openapi.json")).json() for s in SERVICES}


# The console serves HTML pages, no OpenAPI document: services/console/tests/unit/
# test_console_routes_need_a_session.py walks its routes instead.
NOT_IN_THE_MATRIX = {"console"}


def test_the_matrix_covers_every_service_of_the_repository() -> None:
    """A service added under services/ without joining SERVICES (and so the table) would go unchecked."""
    services = Path(__file__).resolve().parents[2] / "services"
    found = {main.parents[2].name for main in services.glob("*/src/backoffice_*/main.py")}
    assert found - NOT_IN_THE_MATRIX == set(SERVICES)


async def test_every_operation_has_exactly_one_row_in_the_table(documents: dict[str, dict[str, Any]]) -> None:
    table = load_table()
    assert set(table) == set(SERVICES)
    for service, document in documents.items():
        listed, served = set(table[service]), set(operations(document))
        assert not served - listed, f"{service}: operations without a row in {TABLE.name}: {sorted(served - listed)}"
        assert not listed - served, f"{service}: rows for operations that do not exist: {sorted(listed - served)}"


async def _call(
    http: httpx.AsyncClient, base: str, row: Row, spec: dict[str, Any], token: str | None, objects: Any = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = base + dummy_path(row.path, spec, objects)
    return await http.request(row.method, url, headers=headers, **body_of(spec))


def _mismatch(operation: str, row: Row, variant: str, response: httpx.Response) -> list[str]:
    status, found = response.status_code, []
    if "server" in response.headers:
        found.append(f"{operation} [{variant}]: a server banner {response.headers['server']!r}")
    if status == 503:  # not ready for a moment (a busy machine): says nothing about the gate
        return found
    if status >= 500:
        expected = "an answer below 500"
    elif row.public is not None:
        expected = str(row.public) if status != row.public else ""
    elif not variant.startswith("role "):
        expected = "401" if status != 401 else ""
    elif variant.removeprefix("role ") in row.roles:
        expected = "anything but 401 or 403" if status in GATE else ""
    else:
        expected = "403" if status != 403 else ""
    if expected:
        found.append(f"{operation} [{variant}]: {status} {response.text[:120]!r}, the table says {expected}")
    return found


@pytest.mark.parametrize("service", SERVICES)
async def test_tokens_and_roles_get_exactly_the_answers_of_the_table(
    platform: Platform, documents: dict[str, dict[str, Any]], service: str
) -> None:
    table, tokens = load_table()[service], bad_tokens()
    specs = operations(documents[service])
    wrong: list[str] = []
    async with httpx.AsyncClient(timeout=30) as http:
        for operation, row in sorted(table.items()):
            spec = specs[operation]
            answers: dict[str, httpx.Response] = {"no token": await _call(http, platform.url(service), row, spec, None)}
            for name, token in tokens.items():
                answers[name] = await _call(http, platform.url(service), row, spec, token)
            for role in ROLES:
                answers[f"role {role}"] = await _call(http, platform.url(service), row, spec, role_token(role))
            for variant, response in answers.items():
                wrong.extend(_mismatch(operation, row, variant, response))
    assert not wrong, "\n".join(wrong)


@dataclass
class Story:
    owner: dict[str, Person]
    stranger: dict[str, Person]
    objects: dict[str, str]


@pytest.fixture(scope="module")
async def story(client: Client) -> Story:
    """A submitted request of one cast (its manager holds the task) and a second cast of strangers."""
    cast, strangers = Cast.new(), Cast.new()
    await client.load_directory(cast)
    await client.load_directory(strangers)
    vendor = await client.create_vendor(cast)
    draft = await client.create_draft(cast, client.draft(vendor, cast, quantity=1, unit_price="500.00"))
    await client.submit(cast, draft["id"])
    task = await client.task_for(cast.manager, draft["id"])
    return Story(
        owner={"request": cast.requester, "task": cast.manager},
        stranger={"request": strangers.requester, "task": strangers.manager},
        objects={"request_id": draft["id"], "task_id": task["id"]},
    )


async def test_an_objects_owner_passes_and_someone_else_with_the_same_role_does_not(
    platform: Platform, documents: dict[str, dict[str, Any]], story: Story
) -> None:
    wrong: list[str] = []
    rows = [row for service in load_table().values() for row in service.values() if row.owner]
    assert rows, "the table names no owned objects"
    async with httpx.AsyncClient(timeout=30) as http:
        for row in rows:
            spec = operations(documents[row.service])[f"{row.method} {row.path}"]
            base = platform.url(row.service)
            kind = str(row.owner)
            owner, stranger = person_token(story.owner[kind]), person_token(story.stranger[kind])
            deadline = time.monotonic() + 30
            while True:  # the services learn of the request through events, a moment after it was submitted
                mine = await _call(http, base, row, spec, owner, story.objects)
                if mine.status_code < 400 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
            theirs = await _call(http, base, row, spec, stranger, story.objects)
            label = f"{row.service} {row.method} {row.path}"
            if mine.status_code >= 400:
                wrong.append(f"{label} [owner]: {mine.status_code} {mine.text[:200]}")
            if theirs.status_code != row.others:
                wrong.append(f"{label} [someone else]: {theirs.status_code}, the table says {row.others}")
    assert not wrong, "\n".join(wrong)
