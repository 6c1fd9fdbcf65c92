"""`backoffice token`: a development bearer token for calling the services of `make run` by hand.

It is signed with the HS256 secret that `deploy/services.sh` gives the services
(`BACKOFFICE_DEV_JWT_SECRET`, else the development default), for the audience they check.
"""

from __future__ import annotations

import argparse
import os
import re

from backoffice_common.auth import ROLES, mint_token
from backoffice_common.settings import DEV_JWT_SECRET

_DURATION = re.compile(r"^(\d+)([smhd]?)$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def add_arguments(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cmd = sub.add_parser("token", help="print a development JWT for calling the APIs of `make run` by hand")
    cmd.add_argument("--user", required=True, help="the subject (sub), e.g. alice")
    cmd.add_argument("--role", action="append", default=[], help=f"repeatable: {', '.join(sorted(ROLES))}")
    cmd.add_argument("--name", default="", help="display name (default: the user)")
    cmd.add_argument("--email", default="", help="email (default: <user>@example.com)")
    cmd.add_argument("--department", default=None)
    cmd.add_argument("--locale", default=None, help="e.g. en or de")
    cmd.add_argument("--expires-in", default="1h", type=duration, help="lifetime: 90, 90s, 30m, 8h, 2d (default 1h)")
    cmd.add_argument("--audience", default=os.environ.get("BACKOFFICE_JWT_AUDIENCE", "backoffice"))


def duration(text: str) -> int:
    match = _DURATION.match(text.strip())
    seconds = int(match.group(1)) * _SECONDS[match.group(2)] if match else 0
    if not 0 < seconds <= 366 * 86400:
        raise argparse.ArgumentTypeError(f"{text!r} is not a lifetime between 1s and 366d (e.g. 30m, 8h)")
    return seconds


def run(args: argparse.Namespace) -> str:
    unknown = sorted(set(args.role) - ROLES)
    if unknown:
        raise SystemExit(
            f"backoffice token: unknown role(s) {', '.join(unknown)}; the services know {', '.join(sorted(ROLES))}"
        )
    extra = {"locale": args.locale} if args.locale else {}
    return mint_token(
        secret=os.environ.get("BACKOFFICE_DEV_JWT_SECRET") or DEV_JWT_SECRET,
        sub=args.user,
        roles=sorted(set(args.role)),
        name=args.name,
        email=args.email,
        department=args.department,
        audience=args.audience,
        ttl_seconds=args.expires_in,
        **extra,
    )
