"""A private PostgreSQL server for the tests that restart the database (the shared one must stay up).

It is a real server from the machine's PostgreSQL binaries (the ones ``deploy/infra.sh`` installs),
in a temporary directory, on a free loopback port. ``restart_immediately()`` is ``pg_ctl restart
-m immediate``: every backend is killed without a checkpoint and clients see their connections cut,
then crash recovery runs, as when a database host restarts under load.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
from pathlib import Path

import asyncpg


def _bindir() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    if not candidates:
        raise RuntimeError("no PostgreSQL server binaries in /usr/lib/postgresql: run 'make infra-up' once")
    return candidates[-1].parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresCluster:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.data = directory / "data"
        self.log = directory / "postgres.log"
        self.port = _free_port()
        self._bin = _bindir()

    @property
    def dsn(self) -> str:
        return f"postgresql://backoffice@127.0.0.1:{self.port}/postgres"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://backoffice@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 120) -> None:
        command = [str(self._bin / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, timeout=timeout, capture_output=True)

    def _pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-s", *args)

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            for parent in self.dir.parents:  # let the postgres user reach its data directory
                if parent == Path("/"):
                    break
                parent.chmod(parent.stat().st_mode | 0o001)
        self._run("initdb", "-D", str(self.data), "-U", "backoffice", "--auth=trust", "-E", "UTF8", "--locale=C")
        conf = (
            f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = ''\n"
            "fsync = off\nmax_connections = 100\n"
        )
        with (self.data / "postgresql.conf").open("a") as f:
            f.write(conf)
        self._pg_ctl("start")

    def restart_immediately(self) -> None:
        self._pg_ctl("-m", "immediate", "restart")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("-m", "immediate", "stop")

    async def wait_ready(self, timeout: float = 30) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                conn = await asyncpg.connect(self.dsn, timeout=2)
                await conn.close()
                return
            except (OSError, asyncpg.PostgresError):
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.1)
