"""How long the event loop waits while contracts are sealed in a worker thread (``asyncio.to_thread``, as
``execute_when_fully_signed`` does): the page imported by pyHanko (before) against copied as bytes (after).

Not a test. A ticker on the loop sleeps 1 ms and records how late it wakes while ``--n`` seals run one after
the other in a thread; the typst compile of the signature page releases the GIL, pyHanko's Python does not, so
the lateness is the seal holding the GIL (in slices of ``sys.getswitchinterval()``) plus the machine's run
queue. Alternated round by round; reported: p50, p99 and max lateness, and CPU per seal.

    .venv/bin/python services/contracts/bench/loop_lag.py --n 20 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from backoffice_contracts import service
from backoffice_contracts.documents import pdf
from backoffice_contracts.documents.pki import load_identity
from backoffice_contracts.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from page_copy_cpu import new_seal, old_seal
from seal_cpu import signature_page


async def lateness_while(work: Callable[[], object]) -> list[float]:
    late: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            late.append((time.perf_counter() - started - 0.001) * 1000)

    task = asyncio.create_task(ticker())
    await asyncio.to_thread(work)
    done.set()
    await task
    return late


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = Settings(
        environment="development",
        pki_dir=Path(tempfile.mkdtemp(prefix="loop-lag-bench-")),
        database_url="postgresql+asyncpg://bench@127.0.0.1/bench",
        jwt_secret="bench-only-secret-of-sufficient-length",  # noqa: S106 (a throwaway settings object)
    )
    identity = load_identity(settings)
    draft = pdf.render(pdf.default_template("en"), service.sample_data("en"))
    variants = {"old: page imported by pyHanko": old_seal, "new: page copied as bytes": new_seal}
    late: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    load_before = os.getloadavg()[0]
    for r in range(args.rounds):
        for name, seal in variants.items():

            def work(seal: Callable[..., bytes] = seal, r: int = r) -> None:
                for i in range(args.n):
                    seal(draft, identity, signature_page(1 + r * args.n + i))

            started = time.process_time()
            late[name] += asyncio.run(lateness_while(work))
            cpu[name].append((time.process_time() - started) / args.n * 1000)
    print(f"the loop's lateness while sealing, {args.rounds} x {args.n} seals per variant, alternated;", end=" ")
    switch = sys.getswitchinterval() * 1000
    print(f"switch interval {switch:.0f} ms; load {load_before:.2f} -> {os.getloadavg()[0]:.2f}")
    for name, values in late.items():
        values.sort()
        p99 = values[int(len(values) * 0.99)]
        print(
            f"  {name:32} late p50 {statistics.median(values):6.2f} ms  p99 {p99:6.2f} ms  max {values[-1]:6.2f} ms"
            f"  CPU per seal (loop + thread) {statistics.median(cpu[name]):6.2f} ms"
        )


if __name__ == "__main__":
    main()
