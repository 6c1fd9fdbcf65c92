"""CPU per completed flow of contracts and notifications (and what they talk to), optionally profiled (not a test).

Against a running profile (``make run``, or the test profile's ``deploy/infra.sh start`` +
``deploy/services.sh start``): ``--warm`` flows first (not counted), then ``--flows`` flows at ``--rate``
through ``backoffice_cli.load.run_load`` (the flow of ``backoffice load``); the CPU of each process tree
(``backoffice_cli.bench.Meter``: utime + stime from ``/proc``, the typst render workers and other children
included) over that run, divided by the completed flows, with the load average before and after. With
``--profile DIR`` py-spy records contracts and notifications during the run (``--nonblocking --gil
--subprocesses``, ``--rate`` ``--spy-rate``: only the thread holding the GIL is sampled, not those waiting
for it) into ``DIR/<service>.txt`` for ``services/common/bench/profile_summary.py``.

    BACKOFFICE_PROFILE=test source deploy/env.sh && \\
        .venv/bin/python services/contracts/bench/flow_cpu.py --flows 30 --rate 1 --profile /tmp/prof
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
from pathlib import Path

from backoffice_cli import demo, load
from backoffice_cli.bench import Meter, load_average, pid_listening_on

DEV_SECRET = "development-only-jwt-secret-never-in-production"  # noqa: S105 (deploy/services.sh's default)
PORTS = (
    ("contracts", "BACKOFFICE_CONTRACTS_PORT"),
    ("notifications", "BACKOFFICE_NOTIFICATIONS_PORT"),
    ("approvals", "BACKOFFICE_APPROVALS_PORT"),
    ("budgets", "BACKOFFICE_BUDGETS_PORT"),
    ("insights", "BACKOFFICE_INSIGHTS_PORT"),
    ("requests", "BACKOFFICE_REQUESTS_PORT"),
    ("mail sink", "BACKOFFICE_SMTP_PORT"),
    ("s3proxy", "BACKOFFICE_S3_PORT"),
    ("postgresql", "BACKOFFICE_PG_PORT"),
    ("kafka", "BACKOFFICE_KAFKA_PORT"),
)
PROFILED = ("contracts", "notifications")


def roots() -> dict[str, int]:
    found: dict[str, int] = {}
    for name, var in PORTS:
        pid = pid_listening_on(int(os.environ[var]))
        if pid is not None:
            found[name] = pid
    return found


def run(flows: int, rate: float) -> int:
    secret = os.environ.get("BACKOFFICE_DEV_JWT_SECRET", DEV_SECRET)
    report = asyncio.run(load.run_load(demo.endpoints_from_env(), secret, flows=flows, rate=rate))
    return report.flows - len(report.failed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flows", type=int, default=30)
    parser.add_argument("--rate", type=float, default=1.0)
    parser.add_argument("--warm", type=int, default=3)
    parser.add_argument("--profile", type=Path, default=None, help="a directory for py-spy's raw profiles")
    parser.add_argument("--spy-rate", type=int, default=50)
    parser.add_argument("--spy", default=",".join(PROFILED), help="the services py-spy records, comma-separated")
    args = parser.parse_args()
    pids = roots()
    if args.warm:
        run(args.warm, args.rate)
    spies: list[subprocess.Popen[bytes]] = []
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
        spy = shutil.which("py-spy") or str(Path(os.environ.get("VIRTUAL_ENV", ".venv")) / "bin" / "py-spy")
        for name in args.spy.split(","):
            out = args.profile / f"{name}.txt"
            command = [spy, "record", "--pid", str(pids[name]), "--rate", str(args.spy_rate), "--nonblocking", "--gil"]
            command += ["--format", "raw", "--output", str(out), "--subprocesses"]
            spies.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    meter = Meter(pids)
    before = load_average()
    meter.start()
    done = run(args.flows, args.rate)
    wall, cpu, driver = meter.stop()
    after = load_average()
    for process in spies:
        process.send_signal(signal.SIGINT)
    for process in spies:
        process.wait(timeout=120)
    per_flow = 1000 * driver / max(done, 1)
    print(f"{done} flows completed in {wall:.1f} s; {before} -> {after}; driver {per_flow:.1f} ms/flow")
    for name, seconds in cpu.items():
        print(f"  {name:<14} {1000 * seconds / max(done, 1):7.1f} ms/flow")


if __name__ == "__main__":
    main()
