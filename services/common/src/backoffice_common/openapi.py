"""Every error answer of every operation in the service's OpenAPI document, as RFC 9457 problems.

FastAPI documents the success answer and a 422 of its own shape, which the services never send. A
client generated from the document (or schemathesis checking answers against it) needs every status
an operation really answers and the problem shape. The answers that follow from how a route is built
are added here, for every service at once:

- behind the bearer authentication: 401 (no or a bad token), 403 (a role or an owner check), and 503
  (the database briefly unavailable, with ``Retry-After``);
- every operation: 400 (a URL with a NUL byte, even in a query parameter the operation does not take;
  a body that is not JSON);
- with a path parameter: 404;
- with any parameter or a body: 422 (the validation problem, with ``errors``);
- with a body: 413 (the body-size limit).

What only the use case knows (409 conflicts, 412/428 of ``If-Match``, 400, 415) the route declares with
``responses=problem_responses(409, 412)``. Decimal fields, which pydantic describes as ``number or
string``, are documented as what the services accept: decimal strings.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, TypeAdapter

from backoffice_common.problems import PROBLEM_MEDIA_TYPE

PROBLEM_REF = "#/components/schemas/Problem"
VALIDATION_PROBLEM_REF = "#/components/schemas/ValidationProblem"
_METHODS = frozenset({"get", "put", "post", "patch", "delete", "head", "options", "trace"})
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"

_DESCRIPTIONS = {
    400: "Bad Request: the URL or body cannot be read (a NUL byte, a body that is not JSON) or a parameter"
    " is not usable (problem details)",
    401: "Unauthorized: no bearer token, or one that is invalid or expired (problem details)",
    403: "Forbidden: the token's roles or the caller's relation to the resource do not allow it (problem details)",
    404: "Not Found (problem details)",
    409: "Conflict: the resource's state does not allow it (problem details)",
    412: "Precondition Failed: If-Match names an older version (problem details, with current_etag)",
    413: "Content Too Large: the body is over the route's limit (problem details)",
    415: "Unsupported Media Type (problem details)",
    422: "Unprocessable Content: the input is invalid; errors lists each field (problem details)",
    428: "Precondition Required: send If-Match with the ETag you read (problem details)",
    429: "Too Many Requests (problem details)",
    503: "Service Unavailable: the database is briefly unavailable; retry after Retry-After (problem details)",
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; extension members (for example current_state) may follow.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "a URI naming the problem type, or about:blank"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "the request path"},
        "correlation_id": {"type": "string"},
    },
    "additionalProperties": True,
}

VALIDATION_PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "ValidationProblem",
    "allOf": [
        {"$ref": PROBLEM_REF},
        {
            "type": "object",
            "properties": {
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "location": {"type": "string", "description": "e.g. body.lines[0].quantity"},
                            "message": {"type": "string"},
                            "type": {"type": ["string", "null"]},
                        },
                    },
                },
            },
        },
    ],
}


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    schema = VALIDATION_PROBLEM_REF if status == 422 else PROBLEM_REF
    return {
        "description": description or _DESCRIPTIONS.get(status, "problem details"),
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": schema}}},
    }


def problem_responses(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """For a route's ``responses=``: the problems only its use case knows it answers.
    ``descriptions`` by ``s409="..."`` replace the generic wording of one status."""
    return {status: problem_response(status, descriptions.get(f"s{status}")) for status in statuses}


_BODY_SCHEMAS: dict[str, dict[str, Any]] = {}
"""Schemas of bodies that routes read themselves (several media types, a signature over the raw bytes),
by component name; a document gets those its operations refer to."""


def request_body(
    name: str,
    schema_of: type[BaseModel] | TypeAdapter[Any],
    *media_types: str,
    others: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """For a route's ``openapi_extra=``: the body the route parses itself, as component ``name`` under
    each of ``media_types``, plus ``others`` (media type -> schema) for forms that are not JSON-like."""
    adapter = schema_of if isinstance(schema_of, TypeAdapter) else TypeAdapter(schema_of)
    _BODY_SCHEMAS[name] = adapter.json_schema(ref_template="#/components/schemas/{model}")
    content: dict[str, Any] = {media: {"schema": {"$ref": f"#/components/schemas/{name}"}} for media in media_types}
    content.update({media: {"schema": schema} for media, schema in (others or {}).items()})
    return {"requestBody": {"required": True, "content": content}}


def _add_body_schemas(document: dict[str, Any], schemas: dict[str, Any]) -> None:
    text = json.dumps(document["paths"])
    for name, schema in _BODY_SCHEMAS.items():
        if f'"#/components/schemas/{name}"' not in text:
            continue
        body = dict(schema)
        for sub_name, sub_schema in body.pop("$defs", {}).items():
            schemas.setdefault(sub_name, sub_schema)
        schemas[name] = body


def _answers_of(operation: dict[str, Any]) -> set[int]:
    """The problems that follow from how the route is built (see the module docstring)."""
    statuses: set[int] = {400}  # the NUL check reads every URL, parameters or not
    parameters = operation.get("parameters", [])
    if operation.get("security"):
        statuses |= {401, 403, 503}
    if any(p.get("in") == "path" for p in parameters):
        statuses.add(404)
    if parameters or "requestBody" in operation:
        statuses.add(422)
    if "requestBody" in operation:
        statuses.add(413)
    return statuses


def _is_decimal(node: dict[str, Any]) -> bool:
    kinds = [branch.get("type") for branch in node.get("anyOf", [])]
    return "number" in kinds and "string" in kinds and all(k in ("number", "string", "null") for k in kinds)


def _decimal_strings(node: Any) -> Any:
    """Replaces pydantic's ``number or string`` (a ``Decimal``) with a decimal string, keeping a null branch."""
    if isinstance(node, list):
        return [_decimal_strings(item) for item in node]
    if not isinstance(node, dict):
        return node
    if _is_decimal(node):
        nullable = any(branch.get("type") == "null" for branch in node["anyOf"])
        decimal = {"type": "string", "format": "decimal", "pattern": DECIMAL_PATTERN}
        rest = {k: _decimal_strings(v) for k, v in node.items() if k != "anyOf"}
        if isinstance(rest.get("default"), int | float):
            rest["default"] = str(rest["default"])
        return {**rest, "anyOf": [decimal, {"type": "null"}]} if nullable else {**rest, **decimal}
    return {key: _decimal_strings(value) for key, value in node.items()}


def _problem_contents(responses: dict[str, Any]) -> None:
    """Error answers without a content of their own are problem documents. FastAPI's own 422 and the empty
    ``application/json`` it adds next to a declared content are dropped (the services never send them)."""
    for code, response in responses.items():
        if not code.isdigit() or int(code) < 400:
            continue
        content = response.get("content") or {}
        generated = content.get("application/json", {}).get("schema")
        if generated == {} or generated == {"$ref": "#/components/schemas/HTTPValidationError"}:
            del content["application/json"]
        response["content"] = content or problem_response(int(code))["content"]


def document_problems(app: FastAPI) -> None:
    """Makes ``app.openapi`` add the problems of every operation to FastAPI's document (once: it is cached)."""
    generate = app.openapi
    completed: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if completed:
            return completed[0]
        document = generate()
        for path_item in document.get("paths", {}).values():
            for method, operation in path_item.items():
                if method not in _METHODS:
                    continue
                responses = operation.setdefault("responses", {})
                for status in sorted(_answers_of(operation)):
                    responses.setdefault(str(status), problem_response(status))
                _problem_contents(responses)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        _add_body_schemas(document, schemas)
        schemas["Problem"] = PROBLEM_SCHEMA
        schemas["ValidationProblem"] = VALIDATION_PROBLEM_SCHEMA
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = _decimal_strings(document)
        completed.append(app.openapi_schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
