"""The platform of the chaos run: profile "chaos" of deploy/infra.sh and deploy/services.sh.

Its own ports and state (.state/chaos), so it runs beside `make run` and beside `make test`: three
Kafka brokers, PostgreSQL, the SMTP sink, and two instances of every service, as processes of this
machine that the run kills with SIGKILL and starts again through the same scripts a developer uses.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("requests", "approvals", "notifications", "contracts")
INSTANCES = 2
PROFILE = "chaos"


def profile_env(topic_prefix: str) -> dict[str, str]:
    """The environment deploy/env.sh gives profile "chaos" in 3-broker mode, from a clean slate."""
    prefixes = ("BACKOFFICE_", *(f"{s.upper()}_" for s in SERVICES))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    clean.update(
        BACKOFFICE_PROFILE=PROFILE,
        BACKOFFICE_KAFKA_NODES="3",
        BACKOFFICE_INSTANCES=str(INSTANCES),
        BACKOFFICE_TOPIC_PREFIX=topic_prefix,
        BACKOFFICE_KAFKA_WAIT="240",
    )
    out = subprocess.run(
        ["bash", "-c", "source deploy/env.sh && env -0"], cwd=ROOT, env=clean, capture_output=True, check=True
    ).stdout
    return dict(item.split("=", 1) for item in out.decode().split("\0") if "=" in item)


def _state_of(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return None


def alive(pid: int | None) -> bool:
    return pid is not None and _state_of(pid) not in (None, "Z", "X")


class ScriptFailed(RuntimeError):
    pass


class Cluster:
    def __init__(self, topic_prefix: str) -> None:
        self.topic_prefix = topic_prefix
        self.env = profile_env(topic_prefix)
        self.port_step = int(self.env["BACKOFFICE_INSTANCE_PORT_STEP"])
        self.state = Path(self.env["BACKOFFICE_STATE_DIR"])
        self._restarting = {name: asyncio.Lock() for name in SERVICES}

    # --- the scripts -------------------------------------------------------------------------

    def script(self, name: str, *args: str, timeout: float = 600) -> str:
        done = subprocess.run(
            ["bash", str(ROOT / "deploy" / name), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise ScriptFailed(f"deploy/{name} {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
        return done.stdout

    async def run_script(self, name: str, *args: str) -> str:
        return await asyncio.to_thread(self.script, name, *args)

    def start(self) -> None:
        """From nothing: a fresh state folder, the infrastructure, then every instance."""
        self.stop()
        shutil.rmtree(self.state, ignore_errors=True)
        for component in ("postgres", "kafka", "smtp", "s3"):  # no identity provider: the load tool mints tokens
            self.script("infra.sh", "start", component)
        for name in SERVICES:  # the order flow's services; the console, budgets and insights are not part of it
            self.script("services.sh", "start", name)

    def stop(self) -> None:
        for name, args in (("services.sh", ("stop",)), ("infra.sh", ("stop",))):
            try:
                self.script(name, *args, timeout=300)
            except (ScriptFailed, subprocess.TimeoutExpired) as exc:
                print(f"chaos: stopping failed: {exc}", flush=True)

    # --- where things are ----------------------------------------------------------------------

    def url(self, service: str, instance: int = 1) -> str:
        return (
            f"http://127.0.0.1:{int(self.env[f'BACKOFFICE_{service.upper()}_PORT']) + (instance - 1) * self.port_step}"
        )

    def dsn(self, database: str) -> str:
        return f"{self.env['BACKOFFICE_PG_DSN_BASE']}/{database}"

    @property
    def mail_dir(self) -> Path:
        return self.state / "mail"

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def _pid(self, pidfile: Path) -> int | None:
        try:
            return int(pidfile.read_text().strip() or 0) or None
        except (FileNotFoundError, ValueError):
            return None

    def service_pid(self, service: str, instance: int) -> int | None:
        return self._pid(self.state / "pids" / f"{service}-{instance}.pid")

    def broker_pid(self, node: int) -> int | None:
        return self._pid(self.state / "kafka-cluster" / f"node{node}" / "kafka.pid")

    # --- faults ------------------------------------------------------------------------------

    def kill_service(self, service: str, instance: int) -> bool:
        pid = self.service_pid(service, instance)
        if not alive(pid):
            return False
        os.kill(pid, signal.SIGKILL)  # type: ignore[arg-type]
        return True

    async def start_service(self, service: str) -> None:
        """Starts the instances of a service that are not running (services.sh skips the others)."""
        async with self._restarting[service]:
            await self.run_script("services.sh", "start", service)

    def kill_broker(self, node: int) -> None:
        pid = self.broker_pid(node)
        if not alive(pid):
            raise RuntimeError(f"broker {node} is not running")
        os.kill(pid, signal.SIGKILL)  # type: ignore[arg-type]

    async def start_brokers(self) -> None:
        """Starts every broker that is down and waits until all three answer."""
        await self.run_script("infra.sh", "start", "kafka")

    async def crash_restart_postgres(self) -> None:
        await self.run_script("infra.sh", "crash-restart", "postgres")

    async def kill_smtp(self) -> None:
        await self.run_script("infra.sh", "kill", "smtp")

    async def start_smtp(self) -> None:
        await self.run_script("infra.sh", "start", "smtp")
