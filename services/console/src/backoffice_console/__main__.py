"""``python -m backoffice_console {serve [--host H] [--port P], migrate}``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import uvicorn

from backoffice_common.cli import run_server
from backoffice_common.migrations import upgrade


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the back-office web console.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the console")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8014")))
    sub.add_parser("migrate", help="create or update the session table (with CONSOLE_DATABASE_URL)")
    args = parser.parse_args()
    if args.command == "migrate":
        from backoffice_console.settings import Settings

        url = Settings().database_url
        if not url:
            raise SystemExit("CONSOLE_DATABASE_URL is not set: the console keeps its sessions in memory")
        upgrade(Path(__file__).parent / "migrations", url)
        return
    # the shared services' server: its housekeeping tick once a second (idle CPU, docs/performance.md)
    run_server(
        uvicorn.Config(
            "backoffice_console.main:create_app", factory=True, host=args.host, port=args.port, proxy_headers=True
        )
    )


if __name__ == "__main__":
    main()
