"""`backoffice demo`: one purchase order from draft to closed against the services of `make run`."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from backoffice_cli.client import Cast, Endpoints, Platform
from backoffice_cli.flow import walk


def endpoints_from_env() -> Endpoints:
    def url(name: str) -> str:
        port = os.environ.get(f"BACKOFFICE_{name.upper()}_PORT")
        if not port:
            raise SystemExit(f"BACKOFFICE_{name.upper()}_PORT is not set: run through 'make demo' after 'make run'")
        return f"http://127.0.0.1:{port}"

    return Endpoints(
        requests=url("requests"),
        approvals=url("approvals"),
        notifications=url("notifications"),
        contracts=url("contracts"),
        mailbox=os.environ.get("BACKOFFICE_MAILBOX_URL"),
    )


async def run_demo(endpoints: Endpoints, jwt_secret: str, out_dir: Path) -> None:
    client = Platform(endpoints=endpoints, jwt_secret=jwt_secret, timeout=120)
    step = 0

    def say(text: str) -> None:
        nonlocal step
        step += 1
        print(f"  {step:2d}. {text}", flush=True)

    try:
        cast = Cast.new()
        print("Setting up a sample company:")
        await client.load_directory(cast)
        say(
            f"approver directory loaded: {cast.requester.name} reports to {cast.manager.name}, "
            f"who reports to {cast.head.name} (head of {cast.department})"
        )
        say("approval policy: the built-in default (manager; department head from 10,000 EUR) unless one is loaded")
        vendor = await client.create_vendor(cast)
        say(
            f"vendor {vendor.legal_name} created; its webhook secret fetched from the one-time link "
            f"mailed to {vendor.emails[0]}"
        )
        print("\nThe purchase order:")
        result = await walk(client, cast, vendor, say=say)
        print(f"\nTimeline of {result.number}:")
        for entry in result.timeline:
            actor = entry.get("actor") or {}
            who = actor.get("name") or actor.get("id") or ""
            print(f"  {entry['occurred_at'][:19]}  {entry['type']:<38} {who:<34} -> {entry['status_after']}")
        pdf = await client.executed_pdf(cast, result.contract_id)
        pdf_path = out_dir / f"{result.number}-executed.pdf"
        await asyncio.to_thread(_save, pdf_path, pdf)
        verdict = await client.verify(pdf)
        print("\nWhere to look:")
        print(
            f"  executed contract PDF : {pdf_path} (verified: issued here={verdict['issued_here']}, "
            f"signature valid={verdict['signature_valid']})"
        )
        if endpoints.mailbox:
            print(f"  emails                : {endpoints.mailbox}/messages?to={vendor.emails[0]}")
            print(f"                          {endpoints.mailbox}/messages?to={cast.requester.email}")
        print(f"  the request           : {endpoints.requests}/docs (GET /requests/{result.request_id})")
        hops = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in result.hop_seconds().items())
        print(f"  hop latencies         : {hops}")
    finally:
        await client.aclose()


def _save(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def main() -> None:
    secret = os.environ.get("BACKOFFICE_DEV_JWT_SECRET", "development-only-jwt-secret-never-in-production")
    state = Path(os.environ.get("BACKOFFICE_STATE_DIR", ".state/run"))
    asyncio.run(run_demo(endpoints_from_env(), secret, state / "demo"))
