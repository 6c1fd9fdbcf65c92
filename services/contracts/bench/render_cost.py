"""Render cost per contract: typst in-process as before the sandbox against a warm sandbox worker (after).

Not a test. Prints wall time (median) and CPU (this process + the worker process, from /proc) per render of
``--n`` renders of the default English template with the sample order, every render with another order number
(typst memoises: the same data twice would cost nearly nothing), and the execution path's parts (the signature
page compile, the page merge). Run: ``.venv/bin/python services/contracts/bench/render_cost.py``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable

import typst

from backoffice_contracts import service
from backoffice_contracts.documents import pdf
from backoffice_contracts.documents.sandbox import RenderLimits, RenderSandbox

TICK = os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def measure(name: str, n: int, run: Callable[[], object], worker_pid: Callable[[], int | None]) -> None:
    run()  # warm
    walls: list[float] = []
    pid = worker_pid()
    cpu_start = own_cpu() + (process_cpu(pid) if pid else 0.0)
    for _ in range(n):
        started = time.perf_counter()
        run()
        walls.append(time.perf_counter() - started)
    cpu = own_cpu() + (process_cpu(pid) if pid else 0.0) - cpu_start
    print(f"{name:<42} wall p50 {statistics.median(walls) * 1000:7.2f} ms   CPU {cpu / n * 1000:7.2f} ms/render")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100)
    args = parser.parse_args()
    source = pdf.default_template("en")
    data = service.sample_data("en")
    _, timestamp = pdf.compile_inputs(data, None)
    numbers = itertools.count()

    def inputs() -> dict[str, str]:
        return {"data": json.dumps({**data, "number": f"PR-{next(numbers):06d}"}, ensure_ascii=False)}

    root = tempfile.mkdtemp()

    def before() -> bytes:  # what pdf.render did: a new typst world (fonts loaded again) per compile
        return typst.compile(
            source.encode(), root=root, ignore_system_fonts=True, sys_inputs=inputs(), timestamp=timestamp
        )

    sandbox = RenderSandbox(RenderLimits(), workers=1)
    started = time.perf_counter()
    sandbox.warm_up()
    [worker] = list(sandbox._all)
    start_cpu = process_cpu(worker.process.pid)
    wall = (time.perf_counter() - started) * 1000
    print(f"{'worker start, once per worker':<42} wall      {wall:7.1f} ms   CPU {start_cpu * 1000:7.2f} ms")
    try:
        measure("before: typst.compile in-process", args.n, before, lambda: None)
        measure(
            "now: in-process, kept typst.Compiler",
            args.n,
            lambda: pdf.render(source, json.loads(inputs()["data"])),
            lambda: None,
        )
        measure(
            "after: warm sandbox worker",
            args.n,
            lambda: sandbox.render(source, inputs(), timestamp=timestamp),
            lambda: worker.process.pid,
        )
        draft = pdf.render(source, data)
        page_data = {
            "contract_id": "0",
            "number": "PR-000000",
            "language": "en",
            "document_sha256": "0" * 64,
            "signatures": [
                {
                    "party_label": party,
                    "signer_name": "Sam Signer",
                    "signer_email": "sam@example.com",
                    "role": "procurement",
                    "channel": "api",
                    "signed_at": "2030-01-01T10:00:00+00:00",
                    "client_ip": "127.0.0.1",
                    "user_agent": "bench",
                    "document_sha256": "0" * 64,
                }
                for party in ("Vendor", "Buyer")
            ],
        }
        try:
            page = pdf.render_signature_page(page_data)

            def signature_page() -> bytes:
                return pdf.render_signature_page({**page_data, "number": f"PR-{next(numbers):06d}"})

            measure("execution: signature page compile", args.n, signature_page, lambda: None)
            measure(
                "execution: merge draft + page (pypdf)", args.n, lambda: pdf.append_pages(draft, page), lambda: None
            )
        except pdf.TemplateError as exc:
            print(f"(signature page needs other data: {exc})")
    finally:
        sandbox.close()


if __name__ == "__main__":
    main()
