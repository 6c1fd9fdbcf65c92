"""The parts of `backoffice bench` that measure: CPU from /proc, processes by port, and the floor's
PostgreSQL commit and bare read against the test profile's real PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import httpx

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
