"""`backoffice bench`: what a purchase order costs the platform, against the physical floor, in one run.

It starts nothing of the platform (run it against `make run`); it measures, in this order:

1. idle CPU per second of each process tree (services, PostgreSQL, Kafka, the mail sink...), live processes
   read to the nanosecond from their CPU-time clocks, over 30 s;
2. the floor, in rounds (half before the fixed-rate run of 3., half after it; each part the median of the
   rounds, printed with their spread): one PostgreSQL transaction inserting a 1 KB row (client + backend CPU),
   one Kafka ``acks=all`` produce of 1 KB (client + broker CPU), one read of a bare FastAPI + asyncpg endpoint
   (server + PostgreSQL CPU; it runs in a process of its own started for the purpose and stopped after), and the
   contract work alone (typst render, signature page, PAdES seal, in this process);
3. the CPU per completed flow of each process at a fixed rate (each process tree's CPU; the load driver, this
   process, is reported apart), the events (Kafka offsets) and HTTP calls of a flow, and ``GET /requests/{id}``
   against the bare read;
4. the ceiling: the offered rate is stepped up until a step fails (a flow failed, or a hop's p99
   went over ``--hop-limit-ms``), and the hop p50/p99 (``flow.BENCH_HOPS``) at half the ceiling.

Every figure is printed next to its floor as a ratio. The machine may be shared: the load average
is printed with each phase; compare ratios of one run, not absolute figures of two runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer

from backoffice_cli.client import Cast, Endpoints, Platform
from backoffice_cli.flow import BENCH_HOPS
from backoffice_cli.load import LoadReport, drive

TICK = os.sysconf("SC_CLK_TCK")
BENCH_DB = "backoffice_bench"
BENCH_TOPIC = "backoffice-bench-floor"
BODY = "x" * 1024

# The processes of `make run` by the port each listens on (deploy/env.sh), in print order.
PROCESSES = (
    ("requests", "BACKOFFICE_REQUESTS_PORT"),
    ("approvals", "BACKOFFICE_APPROVALS_PORT"),
    ("notifications", "BACKOFFICE_NOTIFICATIONS_PORT"),
    ("contracts", "BACKOFFICE_CONTRACTS_PORT"),
    ("budgets", "BACKOFFICE_BUDGETS_PORT"),
    ("insights", "BACKOFFICE_INSIGHTS_PORT"),
    ("postgresql", "BACKOFFICE_PG_PORT"),
    ("kafka", "BACKOFFICE_KAFKA_PORT"),
    ("mail sink", "BACKOFFICE_SMTP_PORT"),
)
OFF_PATH = (("console", "BACKOFFICE_CONSOLE_PORT"), ("keycloak", "BACKOFFICE_KEYCLOAK_PORT"))
"""Running beside the platform but not on a flow's path (the CLI mints its own tokens): reported, not counted."""


# --- CPU from /proc ---------------------------------------------------------------------------------


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            next(f)
            for line in f:
                parts = line.split()
                if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(parts[9])
    return inodes


def pid_listening_on(port: int) -> int | None:
    """The process that listens on ``port`` (the oldest if several share the socket)."""
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    if not wanted:
        return None
    found: list[int] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in os.scandir(f"/proc/{entry.name}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(fd.path) in wanted:
                        found.append(int(entry.name))
                        break
    return min(found) if found else None


def _stat(pid: int) -> tuple[int, int, int] | None:
    """(ppid, own ticks, ticks of reaped children) of one process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def cpu_clock_ns(pid: int) -> int | None:
    """CPU time of a whole live process (all its threads, exited ones too) in nanoseconds, or None if it is gone.

    The process's CPU-time clock (``clock_getcpuclockid``, ``MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)``): the
    scheduler's own run time, where ``/proc/<pid>/stat`` gives whole clock ticks (10 ms)."""
    try:
        return time.clock_gettime_ns((~pid << 3) | 2)
    except OSError:
        return None


def tree_seconds(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each root and its descendants: live ones to the nanosecond (their CPU-time
    clock; clock ticks if it cannot be read), reaped ones through cutime (clock ticks, as the kernel gives them)."""
    stats: dict[int, tuple[int, int, int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            s = _stat(int(entry.name))
            if s is not None:
                stats[int(entry.name)] = s
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    out: dict[str, float] = {}
    for name, root in roots.items():
        if root not in stats:
            out[name] = 0.0
            continue
        reaped, own_ns, stack = stats[root][2], 0, [root]
        while stack:
            pid = stack.pop()
            ns = cpu_clock_ns(pid)
            own_ns += round(stats[pid][1] * 1e9 / TICK) if ns is None else ns
            stack.extend(children.get(pid, ()))
        out[name] = reaped / TICK + own_ns / 1e9
    return out


def pid_seconds(pid: int) -> float:
    """CPU seconds of one process (all its threads), to the nanosecond when its CPU-time clock can be read."""
    ns = cpu_clock_ns(pid)
    if ns is not None:
        return ns / 1e9
    s = _stat(pid)
    return 0.0 if s is None else s[1] / TICK


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


@dataclass
class Meter:
    """CPU of every process tree between two samples, and of this process (the driver)."""

    roots: dict[str, int]
    started: float = 0.0
    before: dict[str, float] = field(default_factory=dict)
    driver_before: float = 0.0

    def start(self) -> None:
        self.started = time.perf_counter()
        self.before = tree_seconds(self.roots)
        self.driver_before = time.process_time()

    def stop(self) -> tuple[float, dict[str, float], float]:
        """(wall seconds, CPU seconds per process, CPU seconds of the driver)."""
        after = tree_seconds(self.roots)
        wall = time.perf_counter() - self.started
        return (
            wall,
            {name: after[name] - self.before.get(name, 0.0) for name in self.roots},
            time.process_time() - self.driver_before,
        )


# --- the floor --------------------------------------------------------------------------------------


@dataclass
class Floor:
    pg_commit_ms: float = 0.0
    kafka_produce_ms: float = 0.0
    bare_read_ms: float = 0.0
    bare_read_server_ms: float = 0.0
    render_ms: float = 0.0
    signature_page_ms: float = 0.0
    merge_ms: float = 0.0
    seal_ms: float = 0.0

    @property
    def event_ms(self) -> float:
        return self.pg_commit_ms + self.kafka_produce_ms

    @property
    def contract_ms(self) -> float:
        return self.render_ms + self.signature_page_ms + self.merge_ms + self.seal_ms

    def per_flow_ms(self, events: float, calls: float) -> float:
        return events * self.event_ms + calls * self.bare_read_ms + self.contract_ms


async def bench_database(dsn_base: str) -> str:
    """The benchmark's own database and a 1 KB-row table (created once); returns its DSN."""
    admin = await asyncpg.connect(f"{dsn_base}/postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", BENCH_DB):
            await admin.execute(f'CREATE DATABASE "{BENCH_DB}"')
    finally:
        await admin.close()
    dsn = f"{dsn_base}/{BENCH_DB}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, body text NOT NULL)")
        if not await conn.fetchval("SELECT count(*) FROM bench_floor"):
            await conn.execute("INSERT INTO bench_floor (body) VALUES ($1)", BODY)
    finally:
        await conn.close()
    return dsn


async def floor_pg_commit(dsn: str, n: int) -> float:
    """CPU (client + backend) of one autocommitted INSERT of a 1 KB row (fsync as configured)."""
    conn = await asyncpg.connect(dsn)
    try:
        backend = int(await conn.fetchval("SELECT pg_backend_pid()"))
        insert = await conn.prepare("INSERT INTO bench_floor (body) VALUES ($1)")
        for _ in range(20):
            await insert.fetch(BODY)
        server, client = pid_seconds(backend), time.process_time()
        for _ in range(n):
            await insert.fetch(BODY)
        used = time.process_time() - client + pid_seconds(backend) - server
        await conn.execute("DELETE FROM bench_floor WHERE id > 1")
    finally:
        await conn.close()
    return used / n * 1000


async def floor_kafka_produce(bootstrap: str, kafka_pid: int, kafka_idle_per_s: float, n: int) -> float:
    """CPU (client + broker, less the broker's idle rate) of one acks=all produce of 1 KB, one at a time."""
    from backoffice_common.kafka import TopicSpec, ensure_topics, make_producer

    await ensure_topics(bootstrap, [TopicSpec(BENCH_TOPIC, 1, 1)], client_id="bench")
    producer = make_producer(bootstrap, client_id="bench")
    await producer.start()
    try:
        value = BODY.encode()
        for _ in range(20):
            await producer.send_and_wait(BENCH_TOPIC, value)
        meter = Meter({"kafka": kafka_pid})
        meter.start()
        for _ in range(n):
            await producer.send_and_wait(BENCH_TOPIC, value)
        wall, used, client = meter.stop()
    finally:
        await producer.stop()
    return (client + max(0.0, used["kafka"] - kafka_idle_per_s * wall)) / n * 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def bare_server(dsn: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "backoffice_cli.bare", "--port", str(port), "--dsn", dsn],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def wait_up(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(100):
            with contextlib.suppress(httpx.HTTPError):
                await http.get(url)
                return
            await asyncio.sleep(0.1)
    raise SystemExit(f"the bare endpoint did not come up at {url}")


async def read_cost(
    url: str, headers: dict[str, str], server: int, pg: int, pg_idle_per_s: float, n: int
) -> tuple[float, float]:
    """CPU of one GET (server process, and server + PostgreSQL less its idle rate), in ms, one at a time.

    The client waits as long as the flows' client does (60 s): a GET stalled behind a busy machine
    is slow, not an error that ends the bench."""
    async with httpx.AsyncClient(timeout=60) as http:
        for _ in range(20):
            (await http.get(url, headers=headers)).raise_for_status()
        meter = Meter({"server": server, "postgresql": pg})
        meter.start()
        for _ in range(n):
            await http.get(url, headers=headers)
        wall, used, _ = meter.stop()
    pg_used = max(0.0, used["postgresql"] - pg_idle_per_s * wall)
    return used["server"] / n * 1000, (used["server"] + pg_used) / n * 1000


@functools.cache
def _contract_inputs() -> tuple[Any, Any, dict[str, Any], dict[str, Any]]:
    """The seal's identity, the default template, its sample data and a signature page's data (made once)."""
    from backoffice_contracts.documents import pdf
    from backoffice_contracts.documents.pki import load_identity
    from backoffice_contracts.service.templates import sample_data
    from backoffice_contracts.settings import Settings

    settings = Settings(
        environment="test",
        database_url="postgresql+asyncpg://unused@127.0.0.1/unused",
        pki_dir=Path(tempfile.mkdtemp(prefix="bench-pki-")),
        jwt_secret="bench-jwt-secret-" + "x" * 30,
        link_secret="bench-link-secret-" + "x" * 30,
    )
    page = {
        "language": "en",
        "contract_id": "00000000-0000-0000-0000-000000000000",
        "number": "PR-000000",
        "document_sha256": "0" * 64,
        "signatures": [
            {
                "party_label": label,
                "signer_name": "Sample Signer",
                "signer_email": "signer@example.com",
                "role": "procurement",
                "channel": "api",
                "signed_at": "2030-01-01T00:00:00+00:00",
                "client_ip": "127.0.0.1",
                "user_agent": "bench",
                "document_sha256": "0" * 64,
            }
            for label in ("Buyer", "Vendor")
        ],
    }
    return load_identity(settings), pdf.default_template("en"), sample_data("en"), page


def floor_contract_samples(repeat: int, first: int = 0) -> list[tuple[float, float, float, float]]:
    """CPU of the contract work alone, here, ``repeat`` times after one warm-up round: (render, signature page,
    merge (0: part of the seal), seal) in ms each time. Order numbers from ``first`` on: the kept typst compiler
    memoises, the same inputs twice cost ~nothing, so a later call must start after the numbers used before."""
    from backoffice_contracts.documents import pdf, sealing

    identity, template, data, page = _contract_inputs()
    samples: list[tuple[float, float, float, float]] = []
    for i in range(repeat + 1):
        number = f"PR-{first + i:06d}"
        t0 = time.process_time()
        document = pdf.render(template, {**data, "number": number})
        t1 = time.process_time()
        extra = pdf.render_signature_page({**page, "number": number})
        t2 = time.process_time()
        # The service's way: the draft unchanged plus one incremental update holding the signature page
        # and the seal (no separate merge; "merge" stays in the table as 0 for comparison with old runs).
        t3 = time.process_time()
        sealing.seal(document, identity, reason="bench", location="bench", append=extra)
        t4 = time.process_time()
        if i:  # the first round warms caches (fonts, imports)
            samples.append(((t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000, (t4 - t3) * 1000))
    return samples


def floor_contract(repeat: int, first: int = 0) -> tuple[float, float, float, float]:
    """The medians of ``floor_contract_samples``: render, signature page, merge, seal, ms each."""
    samples = floor_contract_samples(repeat, first)
    r, s, m, z = (statistics.median(part) for part in zip(*samples, strict=True))
    return r, s, m, z


FLOOR_PARTS = (
    "pg_commit_ms",
    "kafka_produce_ms",
    "bare_read_ms",
    "bare_read_server_ms",
    "render_ms",
    "signature_page_ms",
    "merge_ms",
    "seal_ms",
)


def median_floor(rounds: list[Floor]) -> Floor:
    """Each part of the floor as the median of its rounds (each round measured on its own, at its own moment)."""
    if not rounds:
        raise ValueError("no round of the floor was measured")
    return Floor(**{part: statistics.median(getattr(r, part) for r in rounds) for part in FLOOR_PARTS})


def spread(values: list[float]) -> str:
    """min-max of a figure measured several times, and (max - min) / median."""
    if len(values) < 2:
        return "one round"
    middle = statistics.median(values)
    width = (max(values) - min(values)) / middle * 100 if middle else 0.0
    return f"{min(values):.2f}-{max(values):.2f}, {width:.0f} %"


def rounds_line(values: list[float], before: int) -> str:
    """The rounds' figures, those before the fixed-rate run and those after it apart: "54.1, 57.9 | 73.0, 68.8"."""
    first = ", ".join(f"{v:.1f}" for v in values[:before])
    later = ", ".join(f"{v:.1f}" for v in values[before:])
    return f"{first} | {later}" if later else first


def floor_rounds_at(rounds: int) -> tuple[int, int]:
    """How many of ``rounds`` rounds of the floor go before the fixed-rate run, and how many after it."""
    before = (max(rounds, 1) + 1) // 2
    return before, max(rounds, 1) - before


async def measure_floor(
    dsn: str, bootstrap: str, platform: dict[str, int], idle: dict[str, float], n: int, contract_repeat: int, first: int
) -> Floor:
    """One round of the floor: the commit, the produce, the bare read (its server started for the purpose) and
    the contract work (``contract_repeat`` samples, order numbers from ``first`` on), each part as above."""
    floor = Floor()
    floor.pg_commit_ms = await floor_pg_commit(dsn, n)
    floor.kafka_produce_ms = await floor_kafka_produce(bootstrap, platform["kafka"], idle["kafka"], n)
    with bare_server(dsn) as (url, pid):
        await wait_up(f"{url}/rows/1")
        floor.bare_read_server_ms, floor.bare_read_ms = await read_cost(
            f"{url}/rows/1", {}, pid, platform["postgresql"], idle["postgresql"], n
        )
    floor.render_ms, floor.signature_page_ms, floor.merge_ms, floor.seal_ms = await asyncio.to_thread(
        floor_contract, contract_repeat, first
    )
    return floor


# --- the platform -----------------------------------------------------------------------------------


async def topic_end_offsets(bootstrap: str) -> int:
    """The sum of the end offsets of the platform's event topics (not DLQs, not internal, not the bench's)."""
    from aiokafka import TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-offsets")
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, client_id="bench-offsets", enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        names = [t for t in await admin.list_topics() if not t.startswith("_") and not t.endswith(".dlq")]
        partitions = [
            TopicPartition(str(topic["topic"]), int(p["partition"]))
            for topic in await admin.describe_topics([t for t in names if t != BENCH_TOPIC])
            for p in topic["partitions"]
        ]
        ends = await consumer.end_offsets(partitions) if partitions else {}
        return sum(ends.values())
    finally:
        await consumer.stop()
        await admin.close()


@dataclass
class Run:
    rate: float
    report: LoadReport
    wall: float
    cpu: dict[str, float]
    driver: float
    calls: int
    events: int
    load: str

    @property
    def completed(self) -> int:
        return len(self.report.completed)

    def per_flow_ms(self, name: str) -> float:
        return self.cpu[name] / max(self.completed, 1) * 1000

    def worst_p99(self) -> float:
        hops = self.report.hop_percentiles()
        return max((hops[hop][1] for hop in BENCH_HOPS if hop in hops), default=float("inf"))


class CountingPlatform(Platform):
    """The CLI's client with a count of the HTTP calls made, and one token per person (minted once)."""

    calls: int = 0
    _tokens: dict[str, dict[str, str]]

    def headers(self, who: Any, **extra: str) -> dict[str, str]:
        cache = self.__dict__.setdefault("_tokens", {})
        if who.id not in cache:
            cache[who.id] = super().headers(who)
        return {**cache[who.id], **extra}


async def load_run(
    endpoints: Endpoints, secret: str, roots: dict[str, int], bootstrap: str, *, rate: float, seconds: float
) -> Run:
    calls = 0

    async def count(_: httpx.Request) -> None:
        nonlocal calls
        calls += 1

    client = CountingPlatform(endpoints=endpoints, jwt_secret=secret, timeout=120, poll_interval=1.0)
    client.http.event_hooks["request"].append(count)
    try:
        offsets = await topic_end_offsets(bootstrap)
        meter = Meter(roots)
        meter.start()
        report = await drive(client, flows=max(1, round(rate * seconds)), rate=rate)
        wall, cpu, driver = meter.stop()
        events = await topic_end_offsets(bootstrap) - offsets
    finally:
        await client.aclose()
    return Run(rate, report, wall, cpu, driver, calls, events, load_average())


# --- the command ------------------------------------------------------------------------------------


def add_arguments(sub: Any) -> None:
    cmd = sub.add_parser("bench", help="CPU per flow, ceiling, hop latencies and idle CPU against the floor")
    cmd.add_argument("--rate", type=float, default=2.0, help="flows/s of the fixed-rate run (CPU per flow)")
    cmd.add_argument("--seconds", type=float, default=20.0, help="seconds of arrivals of each run")
    cmd.add_argument(
        "--idle-seconds", type=float, default=30.0, help="seconds of the idle phase (CPU read to the nanosecond)"
    )
    cmd.add_argument("--steps", default="1,2,4,6,8,12,16,20", help="offered rates tried for the ceiling, in order")
    cmd.add_argument("--hop-limit-ms", type=float, default=1000.0, help="a step fails when a hop's p99 is above")
    cmd.add_argument("--floor-n", type=int, default=500, help="repetitions of each floor measurement in a round")
    cmd.add_argument(
        "--floor-rounds",
        type=int,
        default=4,
        help="rounds of the floor, half before the fixed-rate run and half after it; the ratios use their median",
    )
    cmd.add_argument(
        "--contract-samples", type=int, default=10, help="samples of the contract work in each round of the floor"
    )
    cmd.add_argument("--skip-ceiling", action="store_true", help="only idle, floor and the fixed-rate run")


def _roots(names: tuple[tuple[str, str], ...]) -> dict[str, int]:
    roots: dict[str, int] = {}
    for name, var in names:
        port = os.environ.get(var)
        pid = pid_listening_on(int(port)) if port else None
        if pid is not None:
            roots[name] = pid
    return roots


def ratio(value: float, floor: float) -> str:
    return f"{value / floor:5.1f}x" if floor > 0 else "   - "


async def run_bench(args: argparse.Namespace, endpoints: Endpoints, secret: str) -> None:
    bootstrap = os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"]
    platform = _roots(PROCESSES)
    missing = [name for name, _ in PROCESSES if name not in platform]
    if missing:
        raise SystemExit(f"not running: {', '.join(missing)} ('make run' first, then 'make bench')")
    beside = _roots(OFF_PATH)
    roots = {**platform, **beside}
    out: list[str] = []

    def say(line: str) -> None:
        out.append(line)
        print(line, flush=True)

    print(f"bench: idle for {args.idle_seconds:g} s ({load_average()})", flush=True)
    meter = Meter(roots)
    meter.start()
    await asyncio.sleep(args.idle_seconds)
    idle_wall, used, _ = meter.stop()
    idle = {name: used[name] / idle_wall for name in roots}
    idle_load = load_average()

    dsn = await bench_database(os.environ["BACKOFFICE_PG_DSN_BASE"])
    rounds: list[Floor] = []
    floor_loads: list[str] = []
    before_rounds, after_rounds = floor_rounds_at(args.floor_rounds)

    async def floor_round() -> None:
        print(f"bench: floor, round {len(rounds) + 1} ({load_average()})", flush=True)
        first = len(rounds) * (args.contract_samples + 1)
        rounds.append(await measure_floor(dsn, bootstrap, platform, idle, args.floor_n, args.contract_samples, first))
        floor_loads.append(load_average())

    for _ in range(before_rounds):
        await floor_round()

    print(f"bench: GET /requests/{{id}} ({load_average()})", flush=True)
    reader = CountingPlatform(endpoints=endpoints, jwt_secret=secret, timeout=60)
    try:
        cast = Cast.new()
        await reader.load_directory(cast)
        vendor = await reader.create_vendor(cast)
        draft = await reader.create_draft(cast, reader.draft(vendor, cast))
        read_server_ms, read_ms = await read_cost(
            f"{endpoints.requests}/requests/{draft['id']}",
            reader.headers(cast.requester),
            platform["requests"],
            platform["postgresql"],
            idle["postgresql"],
            args.floor_n,
        )
    finally:
        await reader.aclose()

    print(f"bench: {args.rate:g} flows/s for {args.seconds:g} s ({load_average()})", flush=True)
    fixed = await load_run(endpoints, secret, roots, bootstrap, rate=args.rate, seconds=args.seconds)
    if fixed.report.failed:
        for line in fixed.report.lines():
            print(line)
        raise SystemExit("flows failed at the fixed rate: no figures")
    for _ in range(after_rounds):
        await floor_round()
    floor = median_floor(rounds)
    events = fixed.events / fixed.completed
    if not events:
        raise SystemExit("no event reached Kafka during the fixed-rate run: is this the platform of 'make run'?")
    calls = fixed.calls / fixed.completed
    floor_flow = floor.per_flow_ms(events, calls)
    round_flows = [r.per_flow_ms(events, calls) for r in rounds]

    steps: list[Run] = []
    ceiling = 0.0
    half: Run | None = None
    if not args.skip_ceiling:
        for rate in (float(r) for r in args.steps.split(",")):
            print(f"bench: ceiling step {rate:g} flows/s ({load_average()})", flush=True)
            step = await load_run(endpoints, secret, roots, bootstrap, rate=rate, seconds=args.seconds)
            steps.append(step)
            ok = not step.report.failed and step.worst_p99() <= args.hop_limit_ms
            print(
                f"       {step.completed} completed, {len(step.report.failed)} failed, "
                f"worst hop p99 {step.worst_p99():.0f} ms -> {'keeps up' if ok else 'does not keep up'}",
                flush=True,
            )
            if not ok:
                break
            ceiling = rate
        if ceiling:
            print(f"bench: half the ceiling, {ceiling / 2:g} flows/s ({load_average()})", flush=True)
            half = await load_run(endpoints, secret, roots, bootstrap, rate=ceiling / 2, seconds=args.seconds)

    # --- the table ---
    say("")
    say("backoffice bench                                    measured   floor   ratio")
    say(
        f"floor: the median of {len(rounds)} rounds ({before_rounds} before the fixed-rate run, {after_rounds} after;"
        f" {', '.join(floor_loads)}; idle phase {idle_load}); in brackets min-max of the rounds, (max - min) / median"
    )

    def part(label: str, name: str, extra: str = "") -> None:
        say(f"  {label:<48}{getattr(floor, name):8.2f} ms   ({spread([getattr(r, name) for r in rounds])}){extra}")

    part("PostgreSQL commit of a 1 KB row (client+server)", "pg_commit_ms")
    part("Kafka acks=all produce of 1 KB (client+broker)", "kafka_produce_ms")
    say(f"  {'event = commit + produce':<48}{floor.event_ms:8.2f} ms   ({spread([r.event_ms for r in rounds])})")
    alone = f"   server alone {floor.bare_read_server_ms:.2f} ms"
    part("bare FastAPI+asyncpg read (server+PostgreSQL)", "bare_read_ms", alone)
    say(
        f"  contract ({args.contract_samples} samples a round): render {floor.render_ms:.1f}, signature page "
        f"{floor.signature_page_ms:.1f}, merge {floor.merge_ms:.1f}, seal {floor.seal_ms:.1f}"
        f" = {floor.contract_ms:.1f} ms"
        f"   ({spread([r.contract_ms for r in rounds])})"
    )
    say(
        f"  per flow: {events:.1f} events x {floor.event_ms:.2f} + {calls:.1f} HTTP calls x "
        f"{floor.bare_read_ms:.2f} + contract {floor.contract_ms:.1f} = {floor_flow:.1f} ms   ({spread(round_flows)})"
    )
    say(f"  per flow, round by round: {rounds_line(round_flows, before_rounds)} ms")
    say(
        f"GET /requests/{{id}}: requests {read_server_ms:.2f} ms, +PostgreSQL {read_ms:.2f} ms"
        f"{'':8}{floor.bare_read_ms:6.2f}  {ratio(read_ms, floor.bare_read_ms)}"
    )
    say(f"CPU per completed flow at {fixed.rate:g}/s ({fixed.completed} flows in {fixed.wall:.0f} s, {fixed.load}), ms")
    platform_ms = sum(fixed.per_flow_ms(name) for name in platform)
    for name in platform:
        say(f"  {name:<46}{fixed.per_flow_ms(name):8.1f}")
    say(f"  {'platform':<46}{platform_ms:8.1f} {floor_flow:7.1f}  {ratio(platform_ms, floor_flow)}")
    for name in beside:
        say(f"  {name + ' (beside, not counted)':<46}{fixed.per_flow_ms(name):8.1f}")
    say(f"  {'load driver (this process, apart)':<46}{fixed.driver / max(fixed.completed, 1) * 1000:8.1f}")
    say(
        f"  whole platform per event (not the outbox alone){platform_ms / events:7.2f} {floor.event_ms:7.2f}  "
        f"{ratio(platform_ms / events, floor.event_ms)}"
    )
    if not args.skip_ceiling:
        cpu_ceiling = 2000.0 / platform_ms * (os.cpu_count() or 2) / 2
        floor_ceiling = 1000.0 * (os.cpu_count() or 2) / floor_flow
        say(
            f"ceiling (all hops' p99 <= {args.hop_limit_ms:.0f} ms, no failure): {ceiling:g} flows/s"
            f"{'':12}{floor_ceiling:6.1f}  {ratio(floor_ceiling, ceiling) if ceiling else '  -  '}"
        )
        say(f"  (CPU alone would allow {cpu_ceiling:.1f} flows/s on {os.cpu_count()} cores)")
        for step in steps:
            say(
                f"  step {step.rate:g}/s: {step.completed} completed, {len(step.report.failed)} failed, "
                f"worst hop p99 {step.worst_p99():.0f} ms ({step.load})"
            )
        if half is not None:
            say(f"hops at half the ceiling, {half.rate:g}/s ({half.completed} flows, {half.load})  p50 / p99 ms")
            hops = half.report.hop_percentiles()
            for hop in BENCH_HOPS:
                if hop in hops:
                    p50, p99, _ = hops[hop]
                    say(f"  {hop:<46}{p50:6.0f} / {p99:6.0f}   goal p99 50 ms  {ratio(p99, 50)}")
    say(f"idle CPU per second over {idle_wall:.0f} s ({idle_load}), ms (live processes to the nanosecond)")
    for name in platform:
        say(f"  {name:<46}{idle[name] * 1000:8.2f}")
    idle_platform = sum(idle[name] for name in platform) * 1000
    say(f"  {'platform':<46}{idle_platform:8.2f}    15.0  {ratio(idle_platform, 15.0)}")
    for name in beside:
        say(f"  {name + ' (beside, not counted)':<46}{idle[name] * 1000:8.2f}")


def run(args: argparse.Namespace, endpoints: Endpoints, secret: str) -> None:
    asyncio.run(run_bench(args, endpoints, secret))
