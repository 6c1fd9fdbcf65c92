"""Each service's OpenAPI document is what a client generated from it needs: valid, every body described,
every error answer declared as RFC 9457 problem details, money and quantities as decimal strings.

The documents are built from the services' apps as they are served at ``/openapi.json`` (no database or
broker is needed to build them). Schemathesis then checks real answers against them
(tests/e2e/test_zz_fuzzing_last.py)."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_spec_validator import validate

SERVICES = ("requests", "approvals", "notifications", "contracts", "insights", "budgets")
PROBLEM = "application/problem+json"
METHODS = ("get", "put", "post", "patch", "delete")

# Commands whose whole input is the path: nothing to describe.
WITHOUT_BODY = {
    ("requests", "post", "/requests/{request_id}/submit"),
    ("notifications", "post", "/vendors/{vendor_id}/secrets"),
    ("notifications", "post", "/vendor-secrets/{token}"),
    ("notifications", "post", "/deliveries/{delivery_id}/retry"),
    ("budgets", "post", "/budgets/{budget_id}/close"),
    ("contracts", "post", "/contract-templates/{language}/{version}/activation"),
}


def document(service: str) -> dict[str, Any]:
    module = importlib.import_module(f"backoffice_{service}.main")
    app = module.create_app()
    return dict(app.openapi())


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


@pytest.fixture(scope="module", params=SERVICES)
def service_document(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return request.param, document(request.param)


def test_each_document_is_a_valid_openapi_document(service_document: tuple[str, dict[str, Any]]) -> None:
    _, doc = service_document
    validate(doc)  # raises with the first violation of the OpenAPI 3.1 schema


def test_every_body_an_operation_reads_has_a_schema(service_document: tuple[str, dict[str, Any]]) -> None:
    service, doc = service_document
    missing = []
    for method, path, operation in operations(doc):
        if method not in ("post", "put", "patch") or (service, method, path) in WITHOUT_BODY:
            continue
        content = operation.get("requestBody", {}).get("content", {})
        if not content or any("schema" not in media for media in content.values()):
            missing.append(f"{method.upper()} {path}")
    assert not missing, f"{service}: no request-body schema for {missing}"


def test_every_error_answer_is_a_problem_document(service_document: tuple[str, dict[str, Any]]) -> None:
    service, doc = service_document
    wrong = []
    for method, path, operation in operations(doc):
        if path == "/readyz":  # a probe's answer, for orchestrators, not a problem
            continue
        for status, response in operation["responses"].items():
            media = set(response.get("content", {}))
            if int(status) >= 400 and media != {PROBLEM} and media != {"text/html"}:
                wrong.append(f"{method.upper()} {path} {status}: {sorted(media)}")
    assert not wrong, f"{service}: {wrong}"
    assert "HTTPValidationError" not in json.dumps(doc)


def test_the_answers_that_follow_from_a_route_are_declared(service_document: tuple[str, dict[str, Any]]) -> None:
    service, doc = service_document
    gaps = []
    for method, path, operation in operations(doc):
        declared = set(operation["responses"])
        expected = {"400"}  # a NUL byte in any URL, even in a query parameter the operation does not take
        if operation.get("security"):
            expected |= {"401", "403", "503"}
        if "{" in path:
            expected.add("404")
        if operation.get("parameters") or "requestBody" in operation:
            expected.add("422")
        if "requestBody" in operation:
            expected.add("413")
        if expected - declared:
            gaps.append(f"{method.upper()} {path}: {sorted(expected - declared)}")
    assert not gaps, f"{service}: {gaps}"


def test_state_and_version_conflicts_are_declared_where_they_happen() -> None:
    requests = document("requests")["paths"]
    assert {"409", "412", "428"} <= set(requests["/requests/{request_id}"]["patch"]["responses"])
    for command in ("submit", "cancel", "revise", "reassign-vendor", "receipts", "close"):
        assert {"409", "412"} <= set(requests[f"/requests/{{request_id}}/{command}"]["post"]["responses"]), command
    approvals = document("approvals")["paths"]
    assert "409" in approvals["/tasks/{task_id}/decision"]["post"]["responses"]
    assert "415" in approvals["/policies"]["post"]["responses"]
    contracts = document("contracts")["paths"]
    assert "409" in contracts["/contracts/{contract_id}/signatures"]["post"]["responses"]
    assert "409" in contracts["/contract-templates/{language}/{version}/activation"]["post"]["responses"]
    notifications = document("notifications")["paths"]
    assert {"401", "409"} <= set(notifications["/vendor-webhook"]["post"]["responses"])
    assert "409" in notifications["/deliveries/{delivery_id}/retry"]["post"]["responses"]


def _numbers(node: Any, where: str = "") -> Iterator[str]:
    """Every place a schema allows a JSON number next to a string: pydantic's description of a Decimal."""
    if isinstance(node, dict):
        kinds = [branch.get("type") for branch in node.get("anyOf", []) if isinstance(branch, dict)]
        if "number" in kinds and "string" in kinds:
            yield where
        for key, value in node.items():
            yield from _numbers(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _numbers(value, f"{where}/{i}")


def test_money_and_quantities_are_decimal_strings(service_document: tuple[str, dict[str, Any]]) -> None:
    service, doc = service_document
    assert list(_numbers(doc)) == [], service


def test_a_line_s_quantity_and_price_are_documented_as_decimal_strings() -> None:
    schemas = document("requests")["components"]["schemas"]
    line = next(s for name, s in schemas.items() if name.startswith("LineIn") or name.startswith("LineCreate"))
    for field in ("quantity", "unit_price"):
        assert line["properties"][field]["type"] == "string", line["properties"][field]
        assert line["properties"][field]["format"] == "decimal"


def test_the_bodies_routes_read_themselves_are_described() -> None:
    approvals = document("approvals")
    policy = approvals["paths"]["/policies"]["post"]["requestBody"]["content"]
    assert set(policy) == {"application/json", "application/yaml"}
    assert "steps" in approvals["components"]["schemas"]["PolicyDocument"]["properties"]
    imported = approvals["paths"]["/directory/approvers/import"]["post"]["requestBody"]["content"]
    assert set(imported) == {"application/json", "text/csv"}
    webhook = document("notifications")["paths"]["/vendor-webhook"]["post"]["requestBody"]["content"]
    assert webhook["application/json"]["schema"] == {"$ref": "#/components/schemas/VendorMessage"}
