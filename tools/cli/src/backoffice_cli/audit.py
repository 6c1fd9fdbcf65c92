"""`backoffice audit export|verify`: a request's facts across the services, and the chains checked.

`export --request-id X` gathers what every service's `GET /admin/audit` holds about one purchase
request into one list (oldest first by the event's time), as JSON or CSV. `verify` pages through
every service's whole chain (`GET /admin/audit/chain`) and checks each link; it names the first
broken one per service and exits 1 if there is one. Services are found as `demo` finds them
(`BACKOFFICE_<SERVICE>_PORT`) or given as `--service name=url`.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from backoffice_common.audit import GENESIS, BrokenLink, csv_safe, verify_chain
from backoffice_common.auth import mint_token
from backoffice_common.settings import DEV_JWT_SECRET

AUDITED = ("requests", "approvals", "notifications", "contracts", "budgets")
PAGE = 1000


def add_arguments(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cmd = sub.add_parser("audit", help="export a request's audit trail across the services, or verify the chains")
    actions = cmd.add_subparsers(dest="audit_command", required=True)
    export = actions.add_parser("export", help="every service's facts about one purchase request")
    export.add_argument("--request-id", required=True)
    export.add_argument("--format", choices=("json", "csv"), default="json")
    verify = actions.add_parser("verify", help="check every service's hash chain; exit 1 at a broken link")
    for parser in (export, verify):
        parser.add_argument(
            "--service", action="append", default=[], metavar="NAME=URL", help="repeatable; default: the make run ports"
        )


def services_of(args: argparse.Namespace) -> dict[str, str]:
    if args.service:
        return dict(item.split("=", 1) for item in args.service)
    found = {}
    for name in AUDITED:
        port = os.environ.get(f"BACKOFFICE_{name.upper()}_PORT")
        if port:
            found[name] = f"http://127.0.0.1:{port}"
    if not found:
        raise SystemExit("no service given: pass --service name=url or run after 'make run' (BACKOFFICE_*_PORT)")
    return found


def admin_headers() -> dict[str, str]:
    secret = os.environ.get("BACKOFFICE_DEV_JWT_SECRET", DEV_JWT_SECRET)
    token = mint_token(secret=secret, sub="audit-cli", roles=["admin"], ttl_seconds=600)
    return {"Authorization": f"Bearer {token}"}


async def export(http: httpx.AsyncClient, services: Mapping[str, str], request_id: str) -> list[dict[str, Any]]:
    facts: list[dict[str, Any]] = []
    for url in services.values():
        r = await http.get(f"{url}/admin/audit", params={"request_id": request_id}, headers=admin_headers())
        r.raise_for_status()
        for row in r.json():
            fact = json.loads(row["content"])
            facts.append({**fact, "seq": row["seq"], "recorded_at": row["recorded_at"], "hash": row["hash"]})
    return sorted(facts, key=lambda f: (f.get("time") or "", f["recorded_at"], f["service"], f["seq"]))


def as_csv(facts: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    columns = ("time", "service", "seq", "type", "subject", "event_id", "request_id", "data", "hash")
    writer = csv.writer(out)
    writer.writerow(columns)
    for fact in facts:
        values = {**fact, "data": json.dumps(fact.get("data"), sort_keys=True, ensure_ascii=False)}
        writer.writerow([csv_safe(v) if isinstance(v := values.get(c), str) else v for c in columns])
    return out.getvalue()


@dataclass(frozen=True)
class ChainReport:
    service: str
    rows: int
    broken: BrokenLink | None

    def __str__(self) -> str:
        if self.broken is None:
            return f"{self.service}: {self.rows} rows, chain intact"
        return f"{self.service}: BROKEN at seq {self.broken.seq}: {self.broken.reason}"


async def verify_service(http: httpx.AsyncClient, name: str, url: str) -> ChainReport:
    after, count = (0, GENESIS), 0
    while True:
        r = await http.get(
            f"{url}/admin/audit/chain", params={"after_seq": after[0], "limit": PAGE}, headers=admin_headers()
        )
        if r.status_code in (502, 503):  # an archived stretch the object store refused or could not give
            detail = str(r.json().get("detail", r.text)) if r.content else r.reason_phrase
            return ChainReport(name, count, BrokenLink(after[0] + 1, f"archived rows unreadable: {detail}"))
        r.raise_for_status()
        rows = r.json()
        broken = verify_chain(rows, after=after)
        if broken is not None:
            return ChainReport(name, count, broken)
        count += len(rows)
        if len(rows) < PAGE:
            return ChainReport(name, count, None)
        after = (rows[-1]["seq"], rows[-1]["hash"])


async def verify(http: httpx.AsyncClient, services: Mapping[str, str]) -> list[ChainReport]:
    return [await verify_service(http, name, url) for name, url in services.items()]


async def run(args: argparse.Namespace) -> int:
    services = services_of(args)
    async with httpx.AsyncClient(timeout=60) as http:
        if args.audit_command == "export":
            facts = await export(http, services, args.request_id)
            print(as_csv(facts) if args.format == "csv" else json.dumps(facts, indent=2, ensure_ascii=False))
            return 0
        reports = await verify(http, services)
    for report in reports:
        print(report)
    return 1 if any(r.broken for r in reports) else 0
