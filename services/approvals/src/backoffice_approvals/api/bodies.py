"""Decoding the bodies the admin API reads itself: JSON, YAML and CSV (size already limited by common).

Input decoding only: what the decoded data must satisfy is checked by the schemas and the use cases.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any, TypeVar

import yaml
from fastapi import Request
from pydantic import BaseModel, ValidationError

from backoffice_approvals.domain.errors import InvalidFields, InvalidInput
from backoffice_common.errors import AppError

M = TypeVar("M", bound=BaseModel)

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
JSON_TYPES = ("application/json", "")
CSV_LISTS = ("head_of", "groups")
CSV_OPTIONAL = ("manager_id", "department", "limit_amount", "limit_currency", "language")


class UnsupportedMediaType(AppError):
    """The body comes in a media type the route does not read."""


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_text(request: Request, *, encoding: str = "utf-8") -> str:
    """The body as text; a NUL byte or bytes that are not UTF-8 are refused."""
    body = await request.body()
    if b"\x00" in body:
        raise InvalidInput("the body contains a NUL byte")
    try:
        return body.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InvalidInput("the body is not UTF-8") from exc


def _parsed(parse: Callable[[str], Any], text: str, errors: type[Exception], what: str) -> Any:
    try:
        return parse(text)
    except errors as exc:
        raise InvalidInput(f"malformed {what}: {exc}") from exc
    except RecursionError as exc:
        raise InvalidInput(f"malformed {what}: nested too deeply") from exc


def parse_json(text: str) -> Any:
    return _parsed(json.loads, text, json.JSONDecodeError, "JSON")


def parse_yaml(text: str) -> Any:
    return _parsed(yaml.safe_load, text, yaml.YAMLError, "YAML")


def _csv_row(raw: dict[str | None, str | None]) -> dict[str, Any]:
    row: dict[str, Any] = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
    for key in CSV_LISTS:
        row[key] = [p.strip() for p in row.get(key, "").split(";") if p.strip()]
    for key in CSV_OPTIONAL:
        if row.get(key) == "":
            row[key] = None
    if "active" in row:
        row["active"] = row["active"].lower() not in ("false", "0", "no")
    return row


def parse_csv_rows(text: str) -> list[dict[str, Any]]:
    """A header row, then one approver a row; ``head_of`` and ``groups`` separated by ``;``."""
    try:
        return [_csv_row(raw) for raw in csv.DictReader(io.StringIO(text))]
    except csv.Error as exc:
        raise InvalidInput(f"malformed CSV: {exc}") from exc


def validated(model: type[M], data: Any, *, rename: tuple[str, str] | None = None) -> M:
    """``data`` as ``model``, or InvalidFields locating each error (``rename`` a leading location part)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = InvalidFields.from_pydantic(exc).problems
        if rename:
            problems = [(loc.replace(rename[0], rename[1], 1), msg) for loc, msg in problems]
        raise InvalidFields(problems) from exc
