"""Temporary instrumentation of the services' event loops and garbage collector, for
``services/common/bench/stall_summary.py`` (not a test).

Loaded only when this folder is on ``PYTHONPATH`` *and* ``STALL_PROBE_DIR`` is set (Python imports a
``sitecustomize`` module at start-up); nothing of it is in the services' code. Each process appends
JSON lines to ``$STALL_PROBE_DIR/<pid>.jsonl``:

- ``stall``: the loop ran a timer of ``STALL_PROBE_PERIOD_MS`` (10) more than ``STALL_PROBE_MS`` (10)
  late (the services run uvloop, whose callbacks cannot be timed one by one from Python): how late, the
  main thread's CPU over the period (``cpu`` much below ``ms``: it waited for a core or for the GIL, not
  its own work), how long the main thread waited on a run queue for a core (``queued``, the kernel's
  ``/proc/self/task/<tid>/schedstat``), the CPU of the process's other threads over the period
  (``others``: a worker thread that held the GIL), the garbage collector's milliseconds in it, and
  where the main thread was while the loop was late (a watchdog thread samples its stack every half
  period: the innermost frame and the innermost one of the platform's code, the three most frequent);
- ``gc``: a collection of generation 2, or any collection longer than 2 ms (every one with
  ``STALL_PROBE_EVERY_GC=1``): generation, ms (wall), cpu (the collecting thread's CPU), objects
  collected;
- ``gcsum``: every 30 s and at exit, per generation: collections, total and longest ms, CPU ms;
- ``frozen``: once the server has started, the objects of the permanent generation (``gc.freeze``).

    STALL_PROBE_DIR=/tmp/stalls PYTHONPATH=$PWD/services/common/bench/stall_probe make run
"""

from __future__ import annotations

import os

if os.environ.get("STALL_PROBE_DIR"):
    import asyncio
    import atexit
    import gc
    import json
    import sys
    import threading
    import time
    from typing import Any

    _dir = os.environ["STALL_PROBE_DIR"]
    _threshold = float(os.environ.get("STALL_PROBE_MS", "10")) / 1000
    os.makedirs(_dir, exist_ok=True)
    _out: Any = None
    _service = os.environ.get("STALL_PROBE_SERVICE") or next(
        (k.split("_", 1)[0].lower() for k in os.environ if k.endswith("_DATABASE_URL")), "?"
    )

    def _log(kind: str, **fields: Any) -> None:
        global _out
        if _out is None:
            _out = open(os.path.join(_dir, f"{os.getpid()}.jsonl"), "a", buffering=1)  # noqa: SIM115
        fields["t"] = time.time()
        fields["k"] = kind
        fields["svc"] = _service
        _out.write(json.dumps(fields) + "\n")

    _gc_started = [0.0, 0.0]
    _gc_total = [0.0]  # seconds of collections so far (read around each callback)
    _gc_stats: dict[int, list[float]] = {0: [0, 0.0, 0.0, 0.0], 1: [0, 0.0, 0.0, 0.0], 2: [0, 0.0, 0.0, 0.0]}
    _last_summary = [time.monotonic()]

    def _summary() -> None:
        _log(
            "gcsum",
            gens={
                str(g): {
                    "n": int(s[0]),
                    "ms": round(s[1] * 1000, 2),
                    "max": round(s[2] * 1000, 2),
                    "cpu": round(s[3] * 1000, 2),
                }
                for g, s in _gc_stats.items()
            },
            threshold=gc.get_threshold(),
        )

    def _on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            _gc_started[0], _gc_started[1] = time.perf_counter(), time.thread_time()
            return
        took = time.perf_counter() - _gc_started[0]
        cpu = time.thread_time() - _gc_started[1]  # the collecting thread's CPU: what it cost, without waits
        _gc_total[0] += took
        gen = info["generation"]
        stats = _gc_stats[gen]
        stats[0] += 1
        stats[1] += took
        stats[2] = max(stats[2], took)
        stats[3] += cpu
        if gen == 2 or took > 0.002 or _every_gc:
            _log("gc", gen=gen, ms=round(took * 1000, 2), cpu=round(cpu * 1000, 3), collected=info["collected"])

    _every_gc = os.environ.get("STALL_PROBE_EVERY_GC") == "1"  # a line per collection, not only the long ones
    gc.callbacks.append(_on_gc)

    _period = float(os.environ.get("STALL_PROBE_PERIOD_MS", "10")) / 1000
    _beat = [time.perf_counter()]
    _samples: list[tuple[str, str]] = []

    def _where(frame: Any) -> tuple[str, str]:
        """The innermost frame, and the innermost one of the platform's own code (backoffice_*)."""
        path = frame.f_code.co_filename.rsplit("/site-packages/", 1)[-1].rsplit("/src/", 1)[-1]
        inner = f"{path}:{frame.f_code.co_name}:{frame.f_lineno}"
        own = ""
        while frame is not None:
            if "backoffice_" in frame.f_code.co_filename and "bench" not in frame.f_code.co_filename:
                own = f"{frame.f_code.co_filename.rsplit('/src/', 1)[-1]}:{frame.f_code.co_name}:{frame.f_lineno}"
                break
            frame = frame.f_back
        return inner, own

    def _watchdog() -> None:
        # sleeps until the loop's next beat is overdue (about one wake-up a period while the loop keeps time),
        # then samples every half period until it beats again
        main = threading.main_thread().ident
        while True:
            overdue = _beat[0] + _period + _threshold / 2 - time.perf_counter()
            if overdue > 0:
                time.sleep(overdue)
                continue
            frame = sys._current_frames().get(main)
            if frame is not None:
                _samples.append(_where(frame))
            time.sleep(_period / 2)

    def _run_delay(path: str) -> float:
        """Seconds the thread has waited on a run queue (runnable, no core), from the kernel's schedstat."""
        try:
            with open(path) as f:
                return int(f.read().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            return 0.0

    async def _heartbeat() -> None:
        # gc.get_freeze_count() walks the whole permanent generation (tens of ms of cache misses in a
        # service's heap): logged once, after start-up, never in the collector's callback
        _log("frozen", frozen=gc.get_freeze_count())
        sched = f"/proc/self/task/{threading.get_native_id()}/schedstat"
        while True:
            started, cpu, gc_before = time.perf_counter(), time.thread_time(), _gc_total[0]
            proc_cpu, queued = time.process_time(), _run_delay(sched)
            _beat[0] = started
            await asyncio.sleep(_period)
            now = time.perf_counter()
            _beat[0] = now
            late = now - started - _period
            if late > _threshold:
                samples = list(_samples)
                counts: dict[tuple[str, str], int] = {}
                for sample in samples:
                    counts[sample] = counts.get(sample, 0) + 1
                top = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
                _log(
                    "stall",
                    ms=round(late * 1000, 2),
                    cpu=round((time.thread_time() - cpu) * 1000, 2),
                    # the main thread runnable but without a core; the CPU of the process's other threads
                    # (a worker thread holding the GIL) over the same period
                    queued=round((_run_delay(sched) - queued) * 1000, 2),
                    others=round((time.process_time() - proc_cpu - (time.thread_time() - cpu)) * 1000, 2),
                    gc=round((_gc_total[0] - gc_before) * 1000, 2),
                    samples=len(samples),
                    where=[[inner, own, n] for (inner, own), n in top],
                )
            _samples.clear()
            if now - _last_summary[0] > 30:
                _last_summary[0] = now
                _summary()

    def _install() -> None:
        from backoffice_common import cli

        main_loop = cli.QuietServer.main_loop

        async def probed_main_loop(self: Any) -> None:
            task = asyncio.create_task(_heartbeat(), name="stall-probe")
            threading.Thread(target=_watchdog, name="stall-watchdog", daemon=True).start()
            try:
                await main_loop(self)
            finally:
                task.cancel()

        cli.QuietServer.main_loop = probed_main_loop  # type: ignore[method-assign]

    import contextlib

    with contextlib.suppress(ImportError):
        _install()
    atexit.register(_summary)
