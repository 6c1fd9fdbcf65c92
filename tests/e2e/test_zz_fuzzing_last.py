"""Schemathesis against every service's own OpenAPI document: no generated input gets a 500, and every
answer is one the document declares (status code, content type, body schema, headers).

It runs last (hence the file name): with an admin token it really changes the platform, for
example it loads contract templates and approval policies of its own, which later flows would use.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest
from platform_kit import JWT_SECRET, SERVICES, Platform

from backoffice_common.auth import mint_token


@pytest.mark.parametrize("service", SERVICES)
async def test_every_answer_to_generated_requests_is_a_documented_one(platform: Platform, service: str) -> None:
    token = mint_token(
        secret=JWT_SECRET,
        sub="fuzzer",
        roles=["requester", "approver", "procurement", "admin", "finance", "hr"],
        department="ENG",
    )
    cli = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    process = await asyncio.create_subprocess_exec(
        cli,
        "run",
        f"{platform.url(service)}/openapi.json",
        "-H",
        f"Authorization: Bearer {token}",
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,"
        "response_schema_conformance,response_headers_conformance",
        "--max-examples",
        "10",
        "--seed",
        "20261127",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=600)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-4000:]
    assert " passed" in text
