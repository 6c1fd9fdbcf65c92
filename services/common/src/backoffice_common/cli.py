"""``python -m backoffice_<service> {serve,migrate,dlq}`` for every service (and a service's own commands)."""

from __future__ import annotations

import argparse
import importlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, TypedDict

import uvicorn

from backoffice_common import dlq_cli
from backoffice_common.migrations import upgrade
from backoffice_common.settings import ServiceSettings


class ProxyOptions(TypedDict, total=False):
    proxy_headers: bool
    forwarded_allow_ips: str


def proxy_options(settings: ServiceSettings) -> ProxyOptions:
    """uvicorn's forwarded-header options: believed only from the configured proxies (uvicorn would
    otherwise trust any caller on 127.0.0.1)."""
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(settings.trusted_proxies)}


class Command(NamedTuple):
    """A service's own subcommand: ``add_arguments(sub)`` adds its parser, ``run(settings, args)`` its exit code."""

    add_arguments: Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]
    run: Callable[[Any, argparse.Namespace], int]


def main(
    *,
    app_path: str,
    settings_factory: Callable[[], ServiceSettings],
    migrations: Path,
    default_port: int,
    commands: dict[str, Command] | None = None,
) -> None:
    parser = argparse.ArgumentParser(description="Run or migrate a back-office service.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the HTTP API and run the workers")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", default_port)))
    serve.add_argument(
        "--timeout-graceful-shutdown",
        type=int,
        default=None,
        help="seconds open requests get to finish after SIGTERM (keep below the pod's grace period)",
    )
    sub.add_parser("migrate", help="apply database migrations up to head")
    dlq_cli.add_arguments(sub)
    for command in (commands or {}).values():
        command.add_arguments(sub)
    args = parser.parse_args()
    settings = settings_factory()
    if commands and args.command in commands:
        raise SystemExit(commands[args.command].run(settings, args))
    if args.command == "migrate":
        upgrade(migrations, settings.database_url)
        return
    if args.command == "dlq":
        module, _, factory = app_path.partition(":")
        raise SystemExit(dlq_cli.run(getattr(importlib.import_module(module), factory)(), args))
    uvicorn.run(
        app_path,
        factory=True,
        host=args.host,
        port=args.port,
        log_config=None,
        **proxy_options(settings),
        server_header=False,
        timeout_graceful_shutdown=args.timeout_graceful_shutdown,
    )
