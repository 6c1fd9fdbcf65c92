"""The HTTP server's idle cost, old against new, side by side (not a test).

Two idle servers in processes of their own, each serving a tiny ASGI app on uvloop + httptools as the
services do: "old" with ``backoffice_common.cli.QuietServer`` of ``--old-ref`` (taken with ``git show``,
default ``HEAD``), "new" with the working tree's. First both must answer alike (status, body, headers
but the ``Date``, and a ``Date`` within a second of now), then both are measured in the same
``--windows`` windows of ``--seconds``: CPU (utime + stime from ``/proc``, ms per second) and wake-ups
(context switches per second), with the load average.

    .venv/bin/python services/common/bench/server_tick_cpu.py --windows 3 --seconds 60
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[3]
TICK = os.sysconf("SC_CLK_TCK")


async def app(scope: dict[str, object], receive: object, send: object) -> None:
    if scope["type"] == "lifespan":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]


def serve(module_file: str, port: int) -> None:
    import uvicorn

    spec = importlib.util.spec_from_file_location("bench_cli", module_file)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off", server_header=False)
    module.run_server(config)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def usage(pid: int) -> tuple[int, int]:
    """(CPU ticks, context switches) so far of every thread of ``pid``."""
    ticks = switches = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            ticks += int(fields[11]) + int(fields[12])
            for line in Path(f"/proc/{pid}/task/{tid}/status").read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    switches += int(line.split()[1])
    return ticks, switches


def answer(port: int) -> tuple[int, bytes, list[tuple[str, str]]]:
    for _ in range(100):
        with contextlib.suppress(httpx.TransportError):
            response = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            date = parsedate_to_datetime(response.headers["date"]).timestamp()
            assert abs(date - time.time()) <= 1.5, response.headers["date"]
            return (
                response.status_code,
                response.content,
                sorted((k, v) for k, v in response.headers.items() if k != "date"),
            )
        time.sleep(0.1)
    raise RuntimeError(f"no server on {port}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old-ref", default="HEAD")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--serve", nargs=2, metavar=("MODULE_FILE", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return

    with tempfile.TemporaryDirectory() as tmp:
        old_file = Path(tmp) / "old_cli.py"
        old_file.write_bytes(
            subprocess.run(
                ["git", "-C", str(ROOT), "show", f"{args.old_ref}:services/common/src/backoffice_common/cli.py"],
                check=True,
                capture_output=True,
            ).stdout
        )
        new_file = ROOT / "services/common/src/backoffice_common/cli.py"
        sides = {"old": (old_file, free_port()), "new": (new_file, free_port())}
        procs = {
            name: subprocess.Popen([sys.executable, __file__, "--serve", str(path), str(port)])
            for name, (path, port) in sides.items()
        }
        try:
            answers = {name: answer(port) for name, (_, port) in sides.items()}
            assert answers["old"] == answers["new"], answers
            print(f"both answer alike: {answers['new']}", flush=True)
            time.sleep(5)
            for window in range(args.windows):
                before = {name: usage(p.pid) for name, p in procs.items()}
                load0 = os.getloadavg()
                t0 = time.monotonic()
                time.sleep(args.seconds)
                wall = time.monotonic() - t0
                after = {name: usage(p.pid) for name, p in procs.items()}
                print(f"window {window + 1}: {wall:.0f} s, load {load0[0]:.2f} -> {os.getloadavg()[0]:.2f}")
                for name in procs:
                    cpu = (after[name][0] - before[name][0]) / TICK / wall * 1000
                    woken = (after[name][1] - before[name][1]) / wall
                    print(f"  {name}: {cpu:6.2f} ms/s  {woken:6.2f} wake-ups/s", flush=True)
        finally:
            for p in procs.values():
                p.terminate()
                p.wait(10)


if __name__ == "__main__":
    main()
