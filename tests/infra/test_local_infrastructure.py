"""The local infrastructure scripts (deploy/infra.sh) as a developer and CI use them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)


def test_starting_the_running_infrastructure_again_is_harmless_and_status_reports_every_component_up() -> None:
    again = run("bash", "deploy/infra.sh", "start")
    assert again.returncode == 0, again.stderr
    status = run("bash", "deploy/infra.sh", "status")
    assert status.returncode == 0, status.stdout
    for component in ("postgres", "kafka", "smtp", "keycloak"):
        assert f"up   {component}" in status.stdout


def test_postgres_kafka_and_the_smtp_sink_really_work_end_to_end() -> None:
    smoke = run(sys.executable, "deploy/smoke.py")
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr


def test_each_profile_and_each_checkout_gets_its_own_ports() -> None:
    # A fixed path keeps the test deterministic (ports derive from a hash of the checkout's path).
    other_checkout = Path("/tmp/backoffice-second-checkout")
    (other_checkout / "deploy").mkdir(parents=True, exist_ok=True)
    (other_checkout / "deploy" / "env.sh").write_text((ROOT / "deploy" / "env.sh").read_text())

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

    sets = [ports("run", ROOT), ports("test", ROOT), ports("run", other_checkout), ports("test", other_checkout)]
    assert all(len(s) == 7 for s in sets)
    for i, a in enumerate(sets):
        for b in sets[i + 1 :]:
            assert not a & b
