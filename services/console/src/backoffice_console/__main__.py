"""``python -m backoffice_console serve [--host H] [--port P]``."""

from __future__ import annotations

import argparse
import os

import uvicorn


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the back-office web console.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the console")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8014")))
    args = parser.parse_args()
    uvicorn.run("backoffice_console.main:create_app", factory=True, host=args.host, port=args.port, proxy_headers=True)


if __name__ == "__main__":
    main()
