"""Loads the approver directory of Keycloak's sample users (deploy/keycloak/directory.json) into the
approvals service started by `make run`, so their requests route to their managers.

Uses a development token (HS256, accepted by services in development only)."""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

from backoffice_common.auth import mint_token
from backoffice_common.settings import DEV_JWT_SECRET


def main() -> int:
    directory = json.loads((Path(__file__).parent / "keycloak" / "directory.json").read_text())
    secret = os.environ.get("BACKOFFICE_DEV_JWT_SECRET", DEV_JWT_SECRET)
    token = mint_token(secret=secret, sub="seed-admin", roles=["admin"])
    url = f"http://127.0.0.1:{os.environ['BACKOFFICE_APPROVALS_PORT']}/directory/approvers/import"
    request = urllib.request.Request(
        url,
        data=json.dumps(directory).encode(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": "seed-console-directory",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        if response.status != 200:
            print(f"seed: directory import answered {response.status}", file=sys.stderr)
            return 1
    print(f"[seed] approver directory of the sample users loaded ({len(directory['approvers'])} approvers)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
