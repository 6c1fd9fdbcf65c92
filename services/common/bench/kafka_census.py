"""The broker's requests by API and by client, per flow and per second at rest (not a test; a measuring aid).

Against a running ``make run`` (nothing else driving it). Turns the broker's request log on
(``kafka.request.logger`` at DEBUG, through ``KafkaRequestLog.java`` over JMX: no restart, no start-up
flag), then: an idle window of ``--idle-seconds``, then ``--rate`` flows/s for ``--seconds`` of arrivals
(the bench's driver, ``backoffice_cli.bench.load_run``), then the log is set back to WARN. Each logged
request names its API, its client id and its connection, so the census says which client sends what:
``<service>-consumer`` (the ``EventConsumer``: fetches on one connection, the group's heartbeats and
commits on its coordinator connection), ``<service>-lag-probe`` (the watchdog's end offsets),
``<service>-producer`` (the outbox relay's producer; a DLQ producer has the same id but only starts on a
dead letter), ``<service>-readyz``, ``<service>-admin``; anything else is the driver's or a tool's.
Beside each count, the broker's own time for that API (``localTimeMs`` summed: the request handler's
time on it, not the time a fetch was held). The request log costs the broker CPU itself, so this run is
for counting only; CPU figures come from ``kafka_per_flow.py`` or the A/B scripts.

    BACKOFFICE_PROFILE=run bash -c 'source deploy/env.sh && .venv/bin/python services/common/bench/kafka_census.py'
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from backoffice_cli import demo
from backoffice_cli.bench import PROCESSES, _roots, load_average, load_run

HERE = Path(__file__).resolve().parent
DEV_SECRET = "development-only-jwt-secret-never-in-production"  # noqa: S105 - the documented dev default
MARK = "Completed request:"
ROLES = ("consumer", "lag-probe", "producer", "readyz", "admin", "redrive")


def role_of(client_id: str) -> tuple[str, str]:
    """(service, role) of a client id such as ``notifications-lag-probe``; ("", id) for others."""
    for role in ROLES:
        if client_id.endswith(f"-{role}"):
            return client_id[: -len(role) - 1], role
    return "", client_id or "(none)"


def parse(lines: list[str]) -> list[tuple[str, str, str, float]]:
    """(API, client id, connection, local ms) of each logged request."""
    out = []
    for line in lines:
        at = line.find(MARK)
        if at < 0:
            continue
        body = line[at + len(MARK) :]
        end = body.rfind("} (kafka.request.logger)")
        if end >= 0:
            body = body[: end + 1]
        try:
            entry = json.loads(body)
        except json.JSONDecodeError:
            continue
        header = entry.get("requestHeader", {})
        api = header.get("requestApiKeyName") or str(header.get("requestApiKey"))
        out.append(
            (
                str(api).title().replace("_", ""),
                header.get("clientId", ""),
                entry.get("connection", ""),
                float(entry.get("localTimeMs", 0.0)),
            )
        )
    return out


def report(title: str, requests: list[tuple[str, str, str, float]], per: float, unit: str) -> None:
    print(f"\n{title} ({unit})")
    by_api: Counter[str] = Counter()
    local: Counter[str] = Counter()
    by_role: Counter[tuple[str, str]] = Counter()
    by_service: Counter[tuple[str, str, str]] = Counter()
    connections: dict[str, set[str]] = {}
    for api, client, connection, ms in requests:
        service, role = role_of(client)
        by_api[api] += 1
        local[api] += ms
        by_role[(api, role)] += 1
        by_service[(service or "-", role, api)] += 1
        connections.setdefault(client, set()).add(connection)
    print(f"  {'API':<24}{'requests':>10}{'broker local ms':>17}")
    for api, n in by_api.most_common():
        print(f"  {api:<24}{n / per:10.2f}{local[api] / per:17.2f}")
    print(f"  {'all':<24}{sum(by_api.values()) / per:10.2f}{sum(local.values()) / per:17.2f}")
    print("  by API and client role")
    for (api, role), n in sorted(by_role.items(), key=lambda kv: (-by_api[kv[0][0]], -kv[1])):
        print(f"    {api:<22}{role:<22}{n / per:9.2f}")
    print("  by service, role and API")
    for (service, role, api), n in sorted(by_service.items()):
        print(f"    {service:<16}{role:<22}{api:<22}{n / per:9.2f}")
    print("  connections per client id")
    for client, conns in sorted(connections.items()):
        print(f"    {client:<36}{len(conns):4d}")


class RequestLog:
    def __init__(self, pid: int, classes: str, log: Path) -> None:
        self.pid, self.classes, self.log = pid, classes, log

    def level(self, level: str) -> None:
        subprocess.run(
            ["java", "-XX:TieredStopAtLevel=1", "-cp", self.classes, "KafkaRequestLog", str(self.pid), level],
            check=True,
            capture_output=True,
        )

    def offset(self) -> int:
        return self.log.stat().st_size

    def read(self, start: int, end: int) -> list[str]:
        with self.log.open("rb") as f:
            f.seek(start)
            return f.read(end - start).decode("utf-8", "replace").splitlines()


async def main(args: argparse.Namespace) -> None:
    roots = _roots(PROCESSES)
    if "kafka" not in roots:
        raise SystemExit("Kafka is not running ('make run' first)")
    log_file = Path(os.environ["BACKOFFICE_STATE_DIR"]) / "kafka" / "server.log"
    with tempfile.TemporaryDirectory() as classes:
        subprocess.run(["javac", "-d", classes, str(HERE / "KafkaRequestLog.java")], check=True)
        requests = RequestLog(roots["kafka"], classes, log_file)
        requests.level("DEBUG")
        try:
            await asyncio.sleep(2)
            print(f"{args.label}: idle for {args.idle_seconds:g} s ({load_average()})", flush=True)
            start, t0 = requests.offset(), time.monotonic()
            await asyncio.sleep(args.idle_seconds)
            idle_end, idle_wall = requests.offset(), time.monotonic() - t0
            print(f"{args.label}: {args.rate:g} flows/s for {args.seconds:g} s ({load_average()})", flush=True)
            run = await load_run(
                demo.endpoints_from_env(),
                os.environ.get("BACKOFFICE_DEV_JWT_SECRET", DEV_SECRET),
                roots,
                os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"],
                rate=args.rate,
                seconds=args.seconds,
            )
            flow_end = requests.offset()
        finally:
            requests.level("WARN")
        flows = max(run.completed, 1)
        print(
            f"  ({run.load}; {run.completed} flows completed, {len(run.report.failed)} failed,"
            f" {run.events / flows:.1f} events/flow, {run.wall:.0f} s)"
        )
        report(f"{args.label}: at rest", parse(requests.read(start, idle_end)), idle_wall, "per second")
        report(
            f"{args.label}: the flows",
            parse(requests.read(idle_end, flow_end)),
            flows,
            "per completed flow, the rest between the flows included",
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--label", default="census")
    asyncio.run(main(parser.parse_args()))
