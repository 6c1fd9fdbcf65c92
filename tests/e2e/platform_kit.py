"""The platform as real processes for cross-service tests: four services, their databases, one topic prefix."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from cryptography.fernet import Fernet

from backoffice_common.testing import object_store_settings, unique_prefix

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("requests", "approvals", "notifications", "contracts", "insights", "budgets", "checklists")
JWT_SECRET = "e2e-secret-that-is-long-enough-for-hs256-tokens"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports: every socket stays bound until all are chosen, so no port is
    handed out twice (two services on one port would each find the other's /healthz)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class ServiceProcess:
    name: str
    env: dict[str, str]
    log_dir: Path
    ports: list[int] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}"

    def migrate(self) -> None:
        subprocess.run(
            [sys.executable, "-m", f"backoffice_{self.name}", "migrate"],
            env=self.env,
            check=True,
            timeout=300,  # six migrations at once take minutes on a busy two-core machine
            capture_output=True,
        )

    def start(self, instances: int = 1) -> None:
        while len(self.ports) < instances:
            self.ports.append(free_port())
        self.processes = [self._spawn(i) for i in range(instances)]

    def _spawn(self, index: int) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{self.name}-{index}.log", "ab")  # noqa: SIM115 - owned by the process
        return subprocess.Popen(
            [sys.executable, "-m", f"backoffice_{self.name}", "serve", "--port", str(self.ports[index])],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.log_dir,
            start_new_session=True,
        )

    def kill(self, index: int = 0) -> None:
        """``kill -9``: no shutdown hooks, no flushing, connections dropped."""
        process = self.processes[index]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def restart(self, index: int = 0) -> None:
        self.processes[index] = self._spawn(index)

    def add_instance(self) -> int:
        """Another process of this service: same database, same consumer group, its own port."""
        self.ports.append(free_port())
        self.processes.append(self._spawn(len(self.ports) - 1))
        return len(self.ports) - 1

    def remove_instance(self, index: int) -> None:
        process = self.processes.pop(index)
        self.ports.pop(index)
        process.terminate()
        process.wait(timeout=30)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()

    async def wait_healthy(self, timeout: float = 180.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient() as client:
            for index, port in enumerate(self.ports):
                while True:
                    process = self.processes[index]
                    if process.poll() is not None:
                        raise RuntimeError(f"{self.name}#{index} exited with {process.returncode}; see its log")
                    try:
                        r = await client.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
                        if r.status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if asyncio.get_running_loop().time() > deadline:
                        raise TimeoutError(f"{self.name}#{index} not ready within {timeout}s")
                    await asyncio.sleep(0.3)


@dataclass
class Platform:
    prefix: str
    services: dict[str, ServiceProcess]
    databases: list[str]
    mailbox_url: str

    def url(self, service: str) -> str:
        return self.services[service].url

    async def wait_healthy(self, names: Iterable[str] = SERVICES) -> None:
        await asyncio.gather(*(self.services[n].wait_healthy() for n in names))


def service_env(name: str, *, database_url: str, prefix: str, extra: dict[str, str]) -> dict[str, str]:
    p = name.upper() + "_"
    env = {k: v for k, v in os.environ.items() if not k.startswith(tuple(s.upper() + "_" for s in SERVICES))}
    env.update(
        {
            f"{p}ENVIRONMENT": "test",
            f"{p}LOG_LEVEL": "INFO",
            f"{p}DATABASE_URL": database_url,
            f"{p}KAFKA_BOOTSTRAP_SERVERS": os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"],
            f"{p}KAFKA_TOPIC_PREFIX": prefix,
            f"{p}JWT_SECRET": JWT_SECRET,
            f"{p}OUTBOX_POLL_INTERVAL_SECONDS": "1",
            f"{p}CONSUMER_STALL_SECONDS": "20",
        }
    )
    env.update(extra)
    return env


async def create_databases(names: Iterable[str]) -> dict[str, str]:
    base = os.environ["BACKOFFICE_PG_DSN_BASE"]
    admin = await asyncpg.connect(f"{base}/postgres")
    urls = {}
    try:
        for name in names:
            db = f"e2e_{name}_{uuid.uuid4().hex[:8]}"
            await admin.execute(f'CREATE DATABASE "{db}"')
            urls[name] = f"{base}/{db}".replace("postgresql://", "postgresql+asyncpg://", 1)
    finally:
        await admin.close()
    return urls


async def drop_databases(urls: Iterable[str]) -> None:
    base = os.environ["BACKOFFICE_PG_DSN_BASE"]
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        for url in urls:
            await admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def launch_platform(
    work: Path, overrides: dict[str, dict[str, str]] | None = None, *, common: dict[str, str] | None = None
) -> AsyncIterator[Platform]:
    """The services as processes on their own databases and topic prefix, ready; stopped after.

    ``overrides`` adds or replaces environment variables per service (e.g. shorter timers);
    ``common`` is given to every service (e.g. where traces go)."""
    prefix = unique_prefix()
    urls = await create_databases(SERVICES)
    ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
    mailbox = os.environ["BACKOFFICE_MAILBOX_URL"]
    extra: dict[str, dict[str, str]] = {
        # Off: the other tests draft for CC-100, which no test defines (tests/e2e/test_budgets.py sets one up).
        "requests": {"REQUESTS_REQUIRE_KNOWN_COST_CENTRE": "false"},
        # budgets runs here and checks each submission within a second or two; 15 s only bounds a lost check.
        "approvals": {"APPROVALS_TIMER_POLL_SECONDS": "0.3", "APPROVALS_BUDGET_CHECK_WAIT_SECONDS": "15"},
        "notifications": {
            "NOTIFICATIONS_SMTP_HOST": os.environ["BACKOFFICE_SMTP_HOST"],
            "NOTIFICATIONS_SMTP_PORT": os.environ["BACKOFFICE_SMTP_PORT"],
            "NOTIFICATIONS_SECRET_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "NOTIFICATIONS_LINK_SIGNING_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
            "NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
            "NOTIFICATIONS_DELIVERY_BACKOFF_INITIAL_SECONDS": "0.5",
            "NOTIFICATIONS_DELIVERY_BACKOFF_MAX_SECONDS": "2",
            "NOTIFICATIONS_DELIVERY_POLL_INTERVAL_SECONDS": "0.3",
            "NOTIFICATIONS_PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['notifications']}",
        },
        "contracts": {
            "CONTRACTS_LINK_SECRET": uuid.uuid4().hex + uuid.uuid4().hex,
            "CONTRACTS_PKI_DIR": str(work / "pki"),
            "CONTRACTS_PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['contracts']}",
            "CONTRACTS_EXPIRY_POLL_SECONDS": "1",
            **{
                f"CONTRACTS_{name.upper()}": str(value)
                for name, value in object_store_settings(f"{prefix}contracts/").items()
            },
        },
        "insights": {"INSIGHTS_METRICS_REFRESH_SECONDS": "1"},
        "checklists": {"CHECKLISTS_TIMER_POLL_SECONDS": "0.5"},
    }
    for name, values in (overrides or {}).items():
        extra.setdefault(name, {}).update(values)
    services = {
        name: ServiceProcess(
            name,
            service_env(name, database_url=urls[name], prefix=prefix, extra={**(common or {}), **extra.get(name, {})}),
            work,
            ports=[ports[name]],
        )
        for name in SERVICES
    }
    await asyncio.gather(*(asyncio.to_thread(s.migrate) for s in services.values()))
    for s in services.values():
        s.start()
    the_platform = Platform(prefix=prefix, services=services, databases=list(urls.values()), mailbox_url=mailbox)
    try:
        await the_platform.wait_healthy()
        yield the_platform
    finally:
        for s in services.values():
            s.stop()
        await drop_databases(urls.values())
