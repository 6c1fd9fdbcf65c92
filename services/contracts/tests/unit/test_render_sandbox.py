"""Admin templates render in warm child processes: limits on time, CPU and memory, no packages, no files."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest
from contracts_testkit import snapshot, vendor_accepted, vendor_record
from contracts_usecases import World, settings

from backoffice_common.consumer import PermanentEventError
from backoffice_contracts import service
from backoffice_contracts.consumers import handlers
from backoffice_contracts.documents import Documents, pdf
from backoffice_contracts.documents.sandbox import RenderLimits, RenderOutOfMemory, RenderSandbox, RenderTimeout
from backoffice_contracts.domain.errors import TemplateError

# About 100 million loop steps: minutes of CPU, no memory, and not typst's "infinite loop" (10 million steps).
ENDLESS = "#let x = 0\n#for i in range(10000) { for j in range(10000) { x += 1 } }\n#x"
# Cheap with the sample order's one line, endless with the two of a real order.
DATA_DEPENDENT = (
    "#let d = json(bytes(sys.inputs.data))\n"
    "#let n = calc.pow(d.lines.len(), 24)\n"
    "#let x = 0\n#for i in range(n) { for j in range(1000) { x += 1 } }\n#d.number"
)


def sample() -> tuple[dict[str, str], int]:
    return pdf.compile_inputs(service.sample_data("en"), None)


@pytest.fixture
def sandbox() -> Iterator[RenderSandbox]:
    box = RenderSandbox(RenderLimits(wall_seconds=20, cpu_seconds=3, memory_bytes=512 * 1024 * 1024), workers=1)
    yield box
    box.close()


def test_a_warm_worker_renders_the_same_bytes_as_in_process_and_is_reused(sandbox: RenderSandbox) -> None:
    inputs, timestamp = sample()
    source = pdf.default_template("en")
    first = sandbox.render(source, inputs, timestamp=timestamp)
    assert first == pdf.render(source, service.sample_data("en"))
    assert sandbox.render(source, inputs, timestamp=timestamp) == first
    assert sandbox.started == 1


@pytest.mark.parametrize(
    "source",
    [
        '#let p = "@local/x:0.1.0"; #import p',
        '#import "@preview/tablex:0.0.8": tablex',
        '#let p = "@pre" + "view/cetz:0.3.0"\n#include p',
    ],
)
def test_package_imports_are_refused_by_the_resolver(sandbox: RenderSandbox, source: str) -> None:
    inputs, timestamp = sample()
    with pytest.raises(TemplateError, match="may not import typst packages"):
        sandbox.render(source, inputs, timestamp=timestamp)
    assert sandbox.started == 1  # a compile error leaves the worker in service


def test_files_of_the_host_cannot_be_read(sandbox: RenderSandbox) -> None:
    inputs, timestamp = sample()
    with pytest.raises(TemplateError, match="not found"):
        sandbox.render('#read("/etc/passwd")', inputs, timestamp=timestamp)


def test_a_render_beyond_the_wall_clock_limit_is_killed_and_the_next_render_gets_a_fresh_worker() -> None:
    box = RenderSandbox(RenderLimits(wall_seconds=1, cpu_seconds=600, memory_bytes=512 * 1024 * 1024), workers=1)
    try:
        inputs, timestamp = sample()
        box.warm_up()
        [worker] = box._all
        started = time.monotonic()
        with pytest.raises(RenderTimeout, match="longer than 1 s"):
            box.render(ENDLESS, inputs, timestamp=timestamp)
        assert time.monotonic() - started < 10
        assert worker.process.returncode == -signal.SIGKILL
        assert box.render("#1", inputs, timestamp=timestamp).startswith(b"%PDF")
        assert box.started == 2
    finally:
        box.close()


def test_a_render_beyond_the_cpu_limit_is_killed_by_the_kernel() -> None:
    box = RenderSandbox(RenderLimits(wall_seconds=600, cpu_seconds=1, memory_bytes=512 * 1024 * 1024), workers=1)
    try:
        inputs, timestamp = sample()
        with pytest.raises(RenderTimeout, match="more than 1 s of CPU"):
            box.render(ENDLESS, inputs, timestamp=timestamp)
    finally:
        box.close()


def test_a_render_beyond_the_memory_limit_is_stopped(sandbox: RenderSandbox) -> None:
    inputs, timestamp = sample()
    with pytest.raises(RenderOutOfMemory, match="more than 512 MiB"):
        sandbox.render('#let s = "x" * 1000000000\n#s.len()', inputs, timestamp=timestamp)
    assert sandbox.render("#1", inputs, timestamp=timestamp).startswith(b"%PDF")


def test_a_worker_that_died_while_idle_is_replaced_without_blaming_the_template(sandbox: RenderSandbox) -> None:
    sandbox.warm_up()
    [worker] = sandbox._all
    os.kill(worker.process.pid, signal.SIGKILL)
    worker.process.wait()
    inputs, timestamp = sample()
    assert sandbox.render("#1", inputs, timestamp=timestamp).startswith(b"%PDF")
    assert sandbox.started == 2


async def test_a_data_dependent_loop_passes_the_upload_check_but_fails_generation_clearly_not_a_stall() -> None:
    world = World()
    documents = Documents(settings(render_timeout_seconds=2, render_cpu_seconds=60, render_workers=1))
    world.documents = documents  # type: ignore[assignment]
    try:
        documents.render(DATA_DEPENDENT, service.sample_data("en"))  # what the upload checks: it passes
        world.store.templates[0]["body"] = DATA_DEPENDENT  # ... and it is the active English template
        vendor = vendor_record(language="en")
        handler = handlers(world.settings, documents)["vendor.accepted"]
        started = time.monotonic()
        with pytest.raises(PermanentEventError, match="longer than 2 s"):
            await handler(vendor_accepted(snapshot(vendor_id=vendor["vendor_id"]), vendor), world.uow())  # type: ignore[arg-type]
        assert time.monotonic() - started < 15
        assert world.store.contracts == {}
    finally:
        documents.close()
