"""The local infrastructure scripts (deploy/infra.sh) as a developer and CI use them."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)


def test_starting_the_running_infrastructure_again_is_harmless_and_status_reports_every_component_up() -> None:
    again = run("bash", "deploy/infra.sh", "start")
    assert again.returncode == 0, again.stderr
    status = run("bash", "deploy/infra.sh", "status")
    assert status.returncode == 0, status.stdout
    for component in ("postgres", "kafka", "smtp", "s3proxy", "keycloak"):
        assert f"up   {component}" in status.stdout


def test_postgres_kafka_and_the_smtp_sink_really_work_end_to_end() -> None:
    smoke = run(sys.executable, "deploy/smoke.py")
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr


def test_each_profile_and_each_checkout_gets_its_own_ports() -> None:
    # Ports derive from a hash of the checkout's path into 133 slots, so two checkouts share a slot
    # with odds of 1 in 133 (BACKOFFICE_PORT_BASE separates them then). The second checkout is the
    # first of a few fixed paths whose slot differs from this checkout's: the test stays
    # deterministic for a given clone path and never fails because of where CI cloned the code.
    def ports(profile: str, root: Path) -> set[str]:
        script = (
            f"export BACKOFFICE_PROFILE={profile}; source deploy/env.sh; "
            "echo $BACKOFFICE_PG_PORT $BACKOFFICE_KAFKA_PORT $BACKOFFICE_KAFKA_CONTROLLER_PORT $BACKOFFICE_SMTP_PORT "
            "$BACKOFFICE_MAILBOX_PORT $BACKOFFICE_REQUESTS_PORT $BACKOFFICE_CONTRACTS_PORT"
        )
        clean_env = {k: v for k, v in os.environ.items() if not k.startswith("BACKOFFICE_")}
        out = subprocess.run(
            ["bash", "-c", script], cwd=root, capture_output=True, text=True, check=True, env=clean_env
        )
        return set(out.stdout.split())

    own_run = ports("run", ROOT)
    other_checkout = None
    for n in range(8):
        candidate = Path(f"/tmp/backoffice-second-checkout-{n}")
        (candidate / "deploy").mkdir(parents=True, exist_ok=True)
        (candidate / "deploy" / "env.sh").write_text((ROOT / "deploy" / "env.sh").read_text())
        if ports("run", candidate) != own_run:
            other_checkout = candidate
            break
    # Eight paths all in this checkout's slot would mean the hash does not spread checkouts at all.
    assert other_checkout is not None

    sets = [own_run, ports("test", ROOT), ports("run", other_checkout), ports("test", other_checkout)]
    assert all(len(s) == 7 for s in sets)
    for i, a in enumerate(sets):
        for b in sets[i + 1 :]:
            assert not a & b


def _state_of(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return None


def _adopt_orphans(adopt: bool) -> None:
    """PR_SET_CHILD_SUBREAPER: services.sh exits after starting a service, and the service becomes
    this process's child; as long as this process does not wait for it, a killed service stays a
    zombie, as it does under an init that reaps late (or never, as in some containers)."""
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(36, 1 if adopt else 0, 0, 0, 0) == 0, os.strerror(ctypes.get_errno())


def _reap_zombies() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] != 0:
            pass


def test_starting_a_service_right_after_kill_9_starts_it_again_although_the_killed_process_is_not_reaped() -> None:
    env = {**os.environ, "BACKOFFICE_PROFILE": "test", "BACKOFFICE_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:8]}."}
    pidfile = ROOT / ".state" / "test" / "pids" / "requests-1.pid"

    def services(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "deploy/services.sh", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    _adopt_orphans(True)
    try:
        first = services("start", "requests")
        assert first.returncode == 0, first.stdout + first.stderr
        killed = int(pidfile.read_text())
        os.kill(killed, signal.SIGKILL)
        for _ in range(50):
            if _state_of(killed) == "Z":
                break
            time.sleep(0.1)
        assert _state_of(killed) == "Z", "the killed service should wait, unreaped, for its parent"

        again = services("start", "requests")
        assert again.returncode == 0, again.stdout + again.stderr
        assert "already running" not in again.stdout
        assert "requests#1: up on" in again.stdout
        assert int(pidfile.read_text()) != killed
        status = services("status", "requests")
        assert status.returncode == 0, status.stdout
        assert status.stdout.startswith("up ")
    finally:
        services("stop", "requests")
        _reap_zombies()
        _adopt_orphans(False)
