"""The parts of `backoffice bench` that measure: CPU from /proc, processes by port, and the floor's
PostgreSQL commit and bare read against the test profile's real PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import httpx
import pytest

from backoffice_cli import bench


def test_the_process_listening_on_a_port_is_found() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert bench.pid_listening_on(port) == os.getpid()
    assert bench.pid_listening_on(port) is None


def test_a_tree_counts_its_children_live_and_reaped() -> None:
    me = {"me": os.getpid()}
    before = bench.tree_seconds(me)["me"]
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass\n"
    subprocess.run([sys.executable, "-c", burn], check=True)  # reaped: counted through cutime
    assert bench.tree_seconds(me)["me"] - before >= 0.3
    child = subprocess.Popen([sys.executable, "-c", burn + "time.sleep(30)\n"])
    try:
        middle = bench.tree_seconds(me)["me"]
        for _ in range(100):
            if bench.pid_seconds(child.pid) >= 0.35:
                break
            subprocess.run([sys.executable, "-c", "import time; time.sleep(0.1)"], check=True)
        assert bench.tree_seconds(me)["me"] - middle >= 0.3  # live: counted through the child's own ticks
    finally:
        child.kill()
        child.wait()


def test_the_floor_of_a_flow_adds_events_calls_and_the_contract() -> None:
    floor = bench.Floor(pg_commit_ms=0.25, kafka_produce_ms=0.35, bare_read_ms=0.25, render_ms=6, seal_ms=19)
    assert floor.event_ms == 0.6
    assert floor.per_flow_ms(15, 28) == 15 * 0.6 + 28 * 0.25 + 25


async def test_the_floor_commit_and_the_bare_read_cost_cpu_against_the_real_database() -> None:
    dsn = await bench.bench_database(os.environ["BACKOFFICE_PG_DSN_BASE"])
    commit_ms = await bench.floor_pg_commit(dsn, 300)
    assert 0 < commit_ms < 50
    pg = bench.pid_listening_on(int(os.environ["BACKOFFICE_PG_PORT"]))
    assert pg is not None
    with bench.bare_server(dsn) as (url, pid):
        await bench.wait_up(f"{url}/rows/1")
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"{url}/rows/1")
        assert answer.status_code == 200
        assert answer.json()["body"] == bench.BODY
        server_ms, with_pg_ms = await bench.read_cost(f"{url}/rows/1", {}, pid, pg, 0.0, 300)
    assert 0 < server_ms <= with_pg_ms < 100


def test_a_stopped_command_names_the_error_and_the_call_it_ended() -> None:
    from backoffice_cli.__main__ import describe

    # A read timeout's own message is empty: the bench used to stop with "stopped: " and nothing else.
    timeout = httpx.ReadTimeout("", request=httpx.Request("GET", "http://127.0.0.1:9/requests/7"))
    assert describe(timeout) == "ReadTimeout (GET http://127.0.0.1:9/requests/7)"
    refused = httpx.ConnectError("[Errno 111] Connection refused")  # raised before a request was attached
    assert describe(refused) == "ConnectError: [Errno 111] Connection refused"


# --- the eleventh round: CPU to the nanosecond, the floor in rounds, a hop that measures a Kafka hop ---


def test_a_process_cpu_is_read_to_the_nanosecond_not_in_clock_ticks() -> None:
    burn = (
        "import sys, time\nt = time.process_time()\nwhile time.process_time() - t < 0.025: pass\n"
        "print(time.process_time(), flush=True)\nsys.stdin.readline()\n"
    )
    child = subprocess.Popen([sys.executable, "-c", burn], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdin is not None
        own = float(child.stdout.readline())  # the child's own CPU clock, now idle on its stdin
        seen = bench.pid_seconds(child.pid)
        assert abs(seen - own) < 0.002  # clock ticks would be off by up to 10 ms
        assert abs(bench.tree_seconds({"child": child.pid})["child"] - own) < 0.002
        child.stdin.close()
        child.wait(timeout=10)
    finally:
        child.kill()
        child.wait()
    assert bench.cpu_clock_ns(child.pid) is None  # gone: the tree falls back to what /proc still says


def test_the_floor_is_the_median_of_its_rounds_part_by_part() -> None:
    rounds = [
        bench.Floor(pg_commit_ms=0.3, kafka_produce_ms=1.2, bare_read_ms=0.7, render_ms=15, seal_ms=10),
        bench.Floor(pg_commit_ms=0.2, kafka_produce_ms=0.8, bare_read_ms=0.9, render_ms=8, seal_ms=12),
        bench.Floor(pg_commit_ms=0.4, kafka_produce_ms=0.9, bare_read_ms=0.8, render_ms=9, seal_ms=11),
    ]
    floor = bench.median_floor(rounds)
    assert (floor.pg_commit_ms, floor.kafka_produce_ms, floor.bare_read_ms) == (0.3, 0.9, 0.8)
    assert (floor.render_ms, floor.seal_ms) == (9, 11)
    assert bench.median_floor(rounds[:1]) == rounds[0]
    try:
        bench.median_floor([])
    except ValueError:
        pass
    else:
        raise AssertionError("no round is no floor")


def test_the_spread_of_the_rounds_and_where_they_go() -> None:
    assert bench.spread([50.0, 60.0, 70.0]) == "50.00-70.00, 33 %"
    assert bench.spread([5.0]) == "one round"
    assert bench.floor_rounds_at(4) == (2, 2)
    assert bench.floor_rounds_at(3) == (2, 1)
    assert bench.floor_rounds_at(1) == (1, 0)
    assert bench.floor_rounds_at(0) == (1, 0)  # at least one round: the ratios need a floor
    assert bench.rounds_line([54.12, 57.9, 73.0, 68.84], 2) == "54.1, 57.9 | 73.0, 68.8"
    assert bench.rounds_line([54.12], 1) == "54.1"


def test_the_bench_hops_drop_the_one_that_measures_nothing_and_add_the_request_showing_the_execution() -> None:
    from backoffice_cli.flow import BENCH_HOPS, FlowResult

    def entry(event_type: str, occurred: str, recorded: str) -> dict[str, str]:
        return {
            "type": event_type,
            "occurred_at": f"2030-01-01T10:00:{occurred}+00:00",
            "recorded_at": f"2030-01-01T10:00:{recorded}+00:00",
        }

    result = FlowResult(
        "r",
        "PR-1",
        "c",
        [
            entry("contract.signed", "01.000", "01.100"),
            entry("contract.signed", "02.000", "02.050"),
            entry("contract.executed", "02.000", "02.042"),
        ],
    )
    hops = result.hop_seconds()
    assert hops["both signed -> executed"] == 0.0  # one unit of work: kept for `backoffice load`, not in the bench
    assert abs(hops["executed -> the request shows it"] - 0.042) < 1e-9
    assert "both signed -> executed" not in BENCH_HOPS
    assert "executed -> the request shows it" in BENCH_HOPS
    assert "submitted -> task assigned" in BENCH_HOPS


def test_the_contract_floor_takes_new_order_numbers_each_round(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each sample renders an order number of its own (the kept typst compiler memoises a repeated input), and a
    later call started after the numbers used before renders none of them again."""
    from backoffice_contracts.documents import pdf

    numbers: list[str] = []
    render = pdf.render

    def recording(template: object, data: dict[str, object]) -> bytes:
        numbers.append(str(data["number"]))
        return render(template, data)  # type: ignore[arg-type]

    monkeypatch.setattr(pdf, "render", recording)
    first = bench.floor_contract_samples(2, first=0)
    used = list(numbers)
    later = bench.floor_contract_samples(2, first=3)
    assert len(first) == len(later) == 2
    for render_ms, page, merge, seal in first + later:
        assert render_ms > 0
        assert page > 0
        assert seal > 0
        assert merge >= 0
    # the warm-up, then one number a sample (the signature page renders the same number again)
    assert sorted(set(used)) == ["PR-000000", "PR-000001", "PR-000002"]
    assert sorted(set(numbers[len(used) :])) == ["PR-000003", "PR-000004", "PR-000005"]


async def test_a_round_of_the_floor_against_the_real_database_and_broker() -> None:
    dsn = await bench.bench_database(os.environ["BACKOFFICE_PG_DSN_BASE"])
    pg = bench.pid_listening_on(int(os.environ["BACKOFFICE_PG_PORT"]))
    kafka = bench.pid_listening_on(int(os.environ["BACKOFFICE_KAFKA_PORT"]))
    assert pg is not None
    assert kafka is not None
    platform = {"postgresql": pg, "kafka": kafka}
    idle = {"postgresql": 0.0, "kafka": 0.0}
    floor = await bench.measure_floor(dsn, os.environ["BACKOFFICE_KAFKA_BOOTSTRAP"], platform, idle, 100, 2, 100)
    assert 0 < floor.pg_commit_ms < 50
    assert 0 < floor.kafka_produce_ms < 50
    assert 0 < floor.bare_read_server_ms <= floor.bare_read_ms < 100
    assert floor.render_ms > 0
    assert floor.seal_ms > 0
    assert floor.per_flow_ms(16, 28) > floor.contract_ms
