"""CPU of one full (generation-2) collection of each service's start-up heap, before and after
``gc.freeze`` (``backoffice_common.cli.freeze_startup_heap``) (not a test).

Each service in a process of its own: import it and build its app (``create_app`` with the settings of
``deploy/services.sh env``), then time ``gc.collect()`` (thread CPU, median of 7) with the heap as it is,
then after ``gc.collect(); gc.freeze()``. CPU, not wall time, so it holds on a busy machine; the running
services' heaps are larger (their pools, caches and the first calls' imports: ``stall_probe`` logs the
objects frozen at start-up and the wall time of every full collection).

    source deploy/env.sh; .venv/bin/python services/common/bench/full_collection_cpu.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ["requests", "approvals", "notifications", "contracts", "insights", "budgets", "checklists"]

CHILD = """
import gc, importlib, statistics, time
module = importlib.import_module("backoffice_{svc}.main")
app = module.create_app()
def timed():
    runs = []
    for _ in range(7):
        started = time.thread_time()
        gc.collect()
        runs.append((time.thread_time() - started) * 1000)
    return statistics.median(runs)
objects = len(gc.get_objects())
before = timed()
gc.collect()
gc.freeze()
after = timed()
print(f"{svc:<14} tracked objects {{objects:>7}}  full collection {{before:6.1f}} ms -> {{after:6.3f}} ms of CPU"
      f"  (frozen {{gc.get_freeze_count()}})")
"""


def main() -> None:
    for svc in SERVICES:
        env_lines = subprocess.run(
            ["bash", str(ROOT / "deploy" / "services.sh"), "env", svc], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        env = dict(os.environ)
        env.update(line.split("=", 1) for line in env_lines if "=" in line)
        subprocess.run([sys.executable, "-c", CHILD.format(svc=svc)], env=env, check=True)


if __name__ == "__main__":
    main()
