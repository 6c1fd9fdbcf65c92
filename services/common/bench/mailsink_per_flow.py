"""The mail sink's CPU per flow on the running platform, old against new in alternating windows (not a test).

Against ``make run``: stops the profile's mail sink (``deploy/infra.sh stop smtp``), then for each window
starts a sink on the profile's ports itself, with an empty mail folder of its own (a sink started on a
folder of thousands of emails parses them all at the first ``GET /messages``, which the driver's set-up
asks), "old" from ``--old-ref``'s
``deploy/mailsink.py`` (``git show``) or "new" from the working tree, runs ``backoffice load --flows N
--rate R`` and reads the sink's CPU (utime + stime from ``/proc``) per completed flow and per email it
stored, then stops it. The sides alternate (old new new old ...); the profile's own sink is started again
at the end (``deploy/infra.sh start smtp``). A restarted sink drops the notifications service's kept-open
SMTP connection: its next email reconnects; one flow is run first, not counted.

    source deploy/env.sh && .venv/bin/python services/common/bench/mailsink_per_flow.py --rounds 3

With ``--notifications``, the notifications service is restarted too before each window (``deploy/services.sh
restart notifications``), "old" on ``--old-ref``'s sources (``git archive`` first on ``PYTHONPATH``), "new" on the
working tree's, then left to rest ``--rest`` seconds; its CPU per flow and per email is reported beside the sink's,
and contracts' (unchanged) as the window's control. The working tree's notifications is running again at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from backoffice_cli.bench import pid_listening_on

ROOT = Path(__file__).resolve().parents[3]
TICK = os.sysconf("SC_CLK_TCK")


def ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def start(script: Path, log: Path, mail: Path) -> subprocess.Popen[bytes]:
    env = os.environ
    ports = ["--smtp-port", env["BACKOFFICE_SMTP_PORT"], "--http-port", env["BACKOFFICE_MAILBOX_PORT"]]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(script),
                "--host",
                "127.0.0.1",
                *ports,
                "--dir",
                str(mail),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{env['BACKOFFICE_MAILBOX_URL']}/health", timeout=2):  # noqa: S310
                return proc
        except OSError:
            assert proc.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "the sink did not start"
            time.sleep(0.2)


def listening(variable: str) -> int:
    pid = pid_listening_on(int(os.environ[variable]))
    assert pid is not None, f"nothing listens on ${variable}"
    return pid


def restart_notifications(sources: Path | None) -> None:
    env = {**os.environ, "PYTHONPATH": str(sources)} if sources else dict(os.environ)
    subprocess.run(
        ["bash", str(ROOT / "deploy" / "services.sh"), "restart", "notifications"],
        env=env,
        check=True,
        capture_output=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old-ref", default="HEAD")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--flows", type=int, default=20)
    ap.add_argument("--rate", type=float, default=2.0)
    ap.add_argument("--notifications", action="store_true", help="notifications' old and new sources too")
    ap.add_argument("--rest", type=float, default=20.0)
    args = ap.parse_args()
    load_args = ["--flows", str(args.flows), "--rate", str(args.rate)]
    infra = ["bash", str(ROOT / "deploy" / "infra.sh")]
    results: dict[str, list[tuple[float, float]]] = {"old": [], "new": []}
    services: dict[str, list[tuple[float, float, float]]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as tmp:
        old_src = Path(tmp, "old-src")
        if args.notifications:
            old_src.mkdir()
            archive = subprocess.check_output(
                ["git", "-C", str(ROOT), "archive", args.old_ref, "services/notifications/src"]
            )
            subprocess.run(["tar", "-x", "-C", str(old_src)], input=archive, check=True)
        old = Path(tmp, "mailsink_old.py")
        old.write_bytes(subprocess.check_output(["git", "-C", str(ROOT), "show", f"{args.old_ref}:deploy/mailsink.py"]))
        scripts = {"old": old, "new": ROOT / "deploy" / "mailsink.py"}
        subprocess.run([*infra, "stop", "smtp"], check=True, capture_output=True)
        try:
            for r in range(args.rounds):
                for side in ("old", "new") if r % 2 == 0 else ("new", "old"):
                    mail = Path(tmp, f"mail-{side}-{r}")
                    if args.notifications:
                        restart_notifications(old_src / "services" / "notifications" / "src" if side == "old" else None)
                        time.sleep(args.rest)
                    proc = start(scripts[side], Path(tmp, f"{side}.log"), mail)
                    try:
                        # a warm-up flow, not counted: notifications' kept-open connection to the previous sink
                        subprocess.run(
                            [sys.executable, "-m", "backoffice_cli", "load", "--flows", "1", "--rate", "1"],
                            capture_output=True,
                            check=False,
                            timeout=300,
                        )
                        emails0, cpu0, la0 = len(list(mail.glob("*.eml"))), ticks(proc.pid), os.getloadavg()[0]
                        pids = [listening(v) for v in ("BACKOFFICE_NOTIFICATIONS_PORT", "BACKOFFICE_CONTRACTS_PORT")]
                        others0 = [ticks(pid) for pid in pids]
                        load = subprocess.run(
                            [sys.executable, "-m", "backoffice_cli", "load", *load_args],
                            capture_output=True,
                            text=True,
                            check=False,
                        )
                        time.sleep(2)  # the last flows' emails
                        ms = (ticks(proc.pid) - cpu0) * 1000 / TICK
                        notifications_ms, contracts_ms = (
                            (ticks(p) - t) * 1000 / TICK for p, t in zip(pids, others0, strict=True)
                        )
                        emails = len(list(mail.glob("*.eml"))) - emails0
                    finally:
                        proc.terminate()
                        proc.wait(10)
                    match = re.search(r": (\d+) completed", load.stdout)
                    flows = int(match.group(1)) if match else 0
                    if not flows or not emails:
                        print(load.stdout[-1500:], load.stderr[-1500:])
                        raise SystemExit("no flow completed or no email")
                    results[side].append((ms / flows, ms / emails))
                    services[side].append((notifications_ms / flows, notifications_ms / emails, contracts_ms / flows))
                    print(
                        f"{side}: sink {ms / flows:5.1f} ms/flow, {ms / emails:5.2f} ms/email; notifications"
                        f" {notifications_ms / flows:5.1f} ms/flow, {notifications_ms / emails:5.2f} ms/email;"
                        f" contracts {contracts_ms / flows:5.1f} ms/flow ({flows} flows,"
                        f" {emails} emails, load {la0:.1f} -> {os.getloadavg()[0]:.1f})",
                        flush=True,
                    )
        finally:
            subprocess.run([*infra, "start", "smtp"], check=True, capture_output=True)
            if args.notifications:
                restart_notifications(None)
    for side, values in results.items():
        per_flow = sorted(v[0] for v in values)
        per_email = sorted(v[1] for v in values)
        print(
            f"{side}: sink median {per_flow[len(per_flow) // 2]:.1f} ms/flow,"
            f" {per_email[len(per_email) // 2]:.2f} ms/email"
        )
        if args.notifications:
            mean = [sum(v[i] for v in services[side]) / len(services[side]) for i in range(3)]
            print(
                f"{side}: notifications mean {mean[0]:.1f} ms/flow, {mean[1]:.2f} ms/email; contracts {mean[2]:.1f}"
                f" ms/flow; notifications / contracts {mean[0] / mean[2]:.3f}"
            )


if __name__ == "__main__":
    main()
