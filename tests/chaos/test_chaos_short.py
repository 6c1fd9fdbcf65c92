"""The chaos run, shortened to a few minutes for `make test` (`make chaos` runs the long one).

It runs the same script as `make chaos`, as a process of its own on the "chaos" profile's ports,
so the other tests' PostgreSQL, Kafka and SMTP sink are not touched.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

CHAOS = Path(__file__).with_name("chaos.py")


def test_a_short_chaos_run_loses_and_duplicates_nothing() -> None:
    run = subprocess.Popen(
        [sys.executable, str(CHAOS), "--orders", "12", "--rate", "0.25", "--kill-every", "6", "12", "--seed", "14"],
        cwd=CHAOS.parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = run.communicate(timeout=1200)
    except subprocess.TimeoutExpired:
        run.send_signal(signal.SIGTERM)  # the script stops its platform on the way out
        output, _ = run.communicate(timeout=300)
        raise AssertionError(f"the chaos run did not finish within 20 minutes:\n{output[-8000:]}") from None
    figures = [line for line in output.splitlines() if line.startswith("chaos figures:")]
    assert run.returncode == 0, output[-8000:]
    assert len(figures) == 1, output[-8000:]
    line = figures[0]
    for clean in ("failed_flows=0", "lost=0", "duplicated=0", "duplicated_contracts=0", "unsent_outbox=0"):
        assert f" {clean} " in line, line
    for happened in ("brokers_bounced=1", "brokers_lost=1", "pg_restarts=1", "smtp_outages=1"):
        assert f" {happened} " in line, line
    assert " ready=8/8 " in line, line
    # SASL_SSL with one SCRAM identity per service and the ACLs of k8s/base/kafka/users.yaml
    assert " kafka_security=scram foreign_writes_refused=1 " in line, line
