"""A careless client's and an attacker's input, against every operation of every service's OpenAPI document
(the services as real processes, with an admin token holding every role): a NUL byte or 5,000 characters in
a path parameter, unknown query parameters with hostile values, a body that is not JSON, a JSON array, a
wrong content type, NUL bytes in a JSON body, a body of 2 MB. Every answer must be a 4xx (never a 5xx),
an RFC 9457 problem (the vendors' link pages excepted: HTML for people), and a status the operation's
OpenAPI document lists. Schemathesis (test_zz_fuzzing_last.py) generates input from the schema; this
file sends what the schema does not describe.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx
import pytest
from platform_kit import JWT_SECRET, SERVICES, Platform
from test_authorization_matrix import dummy_path, operations

from backoffice_common.auth import mint_token

HTML_PAGES = ("/vendor-links/", "/vendor-secrets/")  # answered in HTML: what a vendor's browser shows
TOKEN = mint_token(
    secret=JWT_SECRET,
    sub="hostile",
    roles=["requester", "approver", "procurement", "admin", "finance", "hr"],
    department="ENG",
)
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _variants(path: str, method: str, spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, url path, httpx keywords) of each hostile call of one operation."""
    url = dummy_path(path, spec)
    calls: list[tuple[str, str, dict[str, Any]]] = []
    for parameter in spec.get("parameters", []):
        if parameter["in"] == "path":
            name = "{" + parameter["name"] + "}"
            calls.append(("NUL in " + name, dummy_path(path.replace(name, "a%00b"), spec), {}))
            calls.append(("5000 chars in " + name, dummy_path(path.replace(name, "9" * 5000), spec), {}))
            calls.append(("traversal in " + name, dummy_path(path.replace(name, "..%2F..%2Fetc%2Fpasswd"), spec), {}))
    hostile_query = {"limit": "-1e309", "cursor": "%00", "after_seq": "99999999999999999999999", "x": "\x00"}
    query = {p["name"] for p in spec.get("parameters", []) if p["in"] == "query"}
    calls.append(("hostile query", url, {"params": {k: v for k, v in hostile_query.items() if k in query | {"x"}}}))
    calls.append(("huge query values", url, {"params": dict.fromkeys(query or {"x"}, "9" * 3000)}))
    if method in ("post", "put", "patch") and "requestBody" in spec:
        calls += [
            ("not JSON", url, {"content": b"{not json", "headers": {"Content-Type": "application/json"}}),
            ("a JSON array", url, {"json": [1, 2, 3]}),
            ("a JSON string", url, {"json": "x"}),
            ("NUL in JSON", url, {"json": {"name": "a\x00b", "language": "en\x00", "body": "\x00"}}),
            ("wrong content type", url, {"content": b"<x/>", "headers": {"Content-Type": "application/xml"}}),
            ("2 MB", url, {"content": b'{"a": "' + b"x" * 2_000_000 + b'"}', "headers": {"Content-Type": "application/json"}}),
        ]  # fmt: skip
    return calls


async def _check(http: httpx.AsyncClient, base: str, method: str, path: str, spec: dict[str, Any]) -> list[str]:
    declared = {int(code) for code in spec.get("responses", {}) if code.isdigit()}
    wrong = []
    for name, url, keywords in _variants(path, method, spec):
        headers = {**AUTH, **keywords.pop("headers", {})}
        try:
            r = await http.request(method.upper(), base + url, headers=headers, **keywords)
        except httpx.RemoteProtocolError as exc:  # a server that drops the connection answered nothing
            wrong.append(f"{method.upper()} {path} [{name}]: connection dropped ({exc})")
            continue
        where = f"{method.upper()} {path} [{name}]: {r.status_code}"
        kind = r.headers.get("content-type", "")
        if r.status_code >= 500:
            wrong.append(f"{where} {r.text[:200]}")
        elif r.status_code < 400 and name not in ("hostile query", "huge query values", "traversal in {token}"):
            wrong.append(f"{where}: accepted")
        elif r.status_code >= 400 and r.status_code not in declared and r.status_code not in (405, 431):
            wrong.append(f"{where}: not in the document ({sorted(declared)})")
        elif r.status_code >= 400 and not path.startswith(HTML_PAGES) and kind != "application/problem+json":
            wrong.append(f"{where}: {kind}, not a problem")
    return wrong


@pytest.fixture(scope="module")
async def documents(platform: Platform) -> dict[str, dict[str, Any]]:
    async with httpx.AsyncClient(timeout=30) as http:
        return {s: (await http.get(f"{platform.url(s)}/openapi.json")).json() for s in SERVICES}


@pytest.mark.parametrize("service", SERVICES)
async def test_hostile_input_gets_a_documented_4xx_problem_from_every_operation(
    platform: Platform, documents: dict[str, dict[str, Any]], service: str
) -> None:
    base = platform.url(service)
    wrong: list[str] = []
    async with httpx.AsyncClient(timeout=120) as http:
        for operation, spec in operations(documents[service]).items():
            method, path = operation.split(" ", 1)
            wrong += await _check(http, base, method.lower(), path, spec)
        alive = await http.get(f"{base}/healthz")
    assert alive.status_code == 200
    assert not wrong, f"{service}: answers that are not a documented 4xx problem:\n" + "\n".join(wrong)


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


# (service, method, path, httpx keywords, the statuses a careful server may answer)
TARGETED: list[tuple[str, str, str, dict[str, Any], set[int]]] = [
    ("budgets", "GET", "/held-back-events", {"params": {"cursor": _cursor(10**30)}}, {422}),
    ("budgets", "GET", "/held-back-events", {"params": {"cursor": _cursor(-(10**30))}}, {422}),
    ("budgets", "GET", "/held-back-events", {"params": {"cursor": _cursor("1")}}, {422}),
    ("budgets", "GET", "/held-back-events", {"params": {"cursor": _cursor(True)}}, {422}),
    ("budgets", "GET", "/held-back-events", {"params": {"cursor": "A" * 501}}, {422}),
    ("budgets", "GET", "/held-back-events", {"params": {"request_id": "x" * 5000}}, {422}),
    ("requests", "GET", "/requests/not-a-uuid/timeline", {}, {422}),
    ("requests", "GET", f"/requests/{uuid.uuid4()}/timeline", {"headers": {"Accept-Language": "x" * 2000}}, {404, 422}),
    ("requests", "GET", "/admin/audit", {"params": {"request_id": "a\nb"}}, {422}),
    ("requests", "GET", "/admin/audit", {"params": {"request_id": "a", "format": "xlsx"}}, {422}),
    ("requests", "GET", "/admin/audit", {"params": [("request_id", "a"), ("request_id", "=1+1")]}, {200, 422}),
    ("requests", "GET", "/admin/audit", {}, {422}),
    ("requests", "GET", "/admin/audit/chain", {"params": {"after_seq": str(2**63)}}, {422}),
    ("requests", "GET", "/admin/audit/chain", {"params": {"limit": "0"}}, {422}),
    ("requests", "POST", "/admin/dlq/redrive", {"json": {}}, {422}),
    ("requests", "POST", "/admin/dlq/redrive", {"json": {"records": [{"topic": "x", "partition": -1, "offset": 0}]}}, {422}),
    ("requests", "POST", "/admin/dlq/redrive", {"json": {"records": [{"topic": "nope.dlq", "partition": 0, "offset": 0}]}}, {422}),
    ("contracts", "POST", "/contract-templates", {"json": {"language": "en", "body": '#read("/etc/passwd")'}}, {422}),
    ("contracts", "POST", "/contract-templates", {"json": {"language": "en", "body": '#image("../../../etc/x.png")'}}, {422}),
    ("contracts", "POST", "/contract-templates", {"json": {"language": "en", "body": '#import "@preview/x:1.0.0"'}}, {422}),
    ("contracts", "POST", "/contract-templates", {"json": {"language": "fr", "body": "hello"}}, {422}),
    ("contracts", "GET", "/contract-templates/en/987654/preview.pdf", {}, {404}),
    ("contracts", "GET", "/contract-templates/..%2F..%2Fetc/1/preview.pdf", {}, {404, 422}),
    ("contracts", "POST", "/contract-templates/en/987654/activation", {}, {404}),
    ("contracts", "POST", "/contract-templates/en/0/activation", {}, {422}),
    ("notifications", "POST", f"/vendors/{uuid.uuid4()}/secrets", {}, {404}),
    ("notifications", "GET", "/vendor-secrets/" + "A" * 190 + ".x", {}, {404}),
    ("notifications", "POST", "/vendor-secrets/urn:uuid:12345678-1234-5678-1234-567812345678.x", {}, {404}),
    ("notifications", "POST", "/vendor-secrets/x.y", {"content": b"x" * 2_000_000}, {413}),
    ("notifications", "POST", "/vendor-secrets/x.y", {"data": {"x": "\x00"}}, {400, 404}),
    ("notifications", "GET", "/vendor-secrets/x.y", {"headers": {"Accept-Language": "de;q=nan, en;q=1e999, *"}}, {404}),
    ("notifications", "POST", "/vendors", {"json": {"legal_name": "V", "address": "A", "contact_emails": ["a@b.c"] * 21}}, {422}),
    ("notifications", "POST", "/vendors", {"json": {"legal_name": "V", "address": "A", "contact_emails": ["a@b.c,d@e.f"]}}, {422}),
    ("notifications", "POST", "/vendors", {"json": {"legal_name": "V", "address": "A", "contact_emails": ["a\r\nBcc: x@y.z"]}}, {422}),
    ("notifications", "POST", "/vendors", {"json": {"legal_name": "V", "address": "A", "contact_emails": []}}, {422}),
    ("notifications", "POST", "/vendors", {"json": {"legal_name": "V", "address": "A", "contact_emails": ["a@b.c", "A@b.c"]}}, {422}),
    ("notifications", "PATCH", f"/vendors/{uuid.uuid4()}", {"json": {"contact_emails": None}}, {404}),
    ("notifications", "PATCH", f"/vendors/{uuid.uuid4()}", {"json": {"webhook_url": "ftp://x.example/"}}, {404}),
    ("notifications", "POST", f"/vendors/{uuid.uuid4()}/secrets", {"headers": {"Idempotency-Key": "a b"}}, {422}),
    ("checklists", "GET", "/checklists/------------------------------------", {}, {404, 422}),
    ("checklists", "POST", f"/checklists/{uuid.uuid4()}/items/..%2Fx/complete", {}, {404, 422}),
    ("checklists", "GET", "/templates/..%2F..%2Fetc", {}, {404, 422}),
    ("checklists", "PUT", "/templates/a", {"json": {"items": [{"key": "../x"}]}}, {422}),
]  # fmt: skip


@pytest.mark.parametrize(("service", "method", "path", "keywords", "allowed"), TARGETED)
async def test_targeted_hostile_input_to_the_recent_endpoints(
    platform: Platform, service: str, method: str, path: str, keywords: dict[str, Any], allowed: set[int]
) -> None:
    headers = {**AUTH, **keywords.pop("headers", {})}
    async with httpx.AsyncClient(timeout=120) as http:
        r = await http.request(method, platform.url(service) + path, headers=headers, **keywords)
    assert r.status_code in allowed, f"{method} {path}: {r.status_code} {r.text[:300]}"
    if not path.startswith(HTML_PAGES) and r.status_code >= 400:
        assert r.headers["content-type"] == "application/problem+json", r.headers["content-type"]
        assert r.json()["detail"] or r.json().get("errors"), r.text
