"""Rendering untrusted (admin-uploaded) typst templates in warm child processes with time, CPU and memory limits.

A pool of at most ``workers`` processes (``render_worker.py``), started on first use (or by ``warm_up``) and
kept: the normal path pays no process start. A request waits for an idle worker; the answer must come within
the wall-clock limit, or the worker is killed (``SIGKILL``) and replaced. A worker killed by its CPU limit
(``SIGXCPU``) or its memory limit (an allocation failure aborts it) is replaced too. Every such end is a
``TemplateError`` naming the limit: the template is at fault, not the service. A worker that cannot be started
is a ``RuntimeError`` (the caller retries).

Thread-safe: use cases call ``render`` through ``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from backoffice_contracts.domain.errors import TemplateError

_LENGTH = struct.Struct(">I")
_WORKER = Path(__file__).with_name("render_worker.py")
_START_TIMEOUT = 60.0


@dataclass(frozen=True)
class RenderLimits:
    wall_seconds: float = 10.0
    cpu_seconds: int = 5
    memory_bytes: int = 1024 * 1024 * 1024


class RenderTimeout(TemplateError):
    """The template did not finish within the wall-clock or CPU limit."""


class RenderOutOfMemory(TemplateError):
    """The template needed more memory than the limit."""


class _Worker:
    def __init__(self, limits: RenderLimits, empty: str) -> None:
        env = {k: v for k, v in os.environ.items() if k in {"PATH", "LANG", "LC_ALL", "HOME", "TMPDIR"}}
        env["MALLOC_ARENA_MAX"] = "2"  # glibc reserves 64 MiB of address space per arena otherwise
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(_WORKER), str(limits.memory_bytes), empty],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self._in: IO[bytes] = self.process.stdin
        self._out = self.process.stdout.fileno()
        try:
            kind, _ = self._receive(time.monotonic() + _START_TIMEOUT)
        except _Expired:
            self.kill()
            raise
        if kind != b"R":
            self.kill()
            raise RuntimeError(f"the render worker did not start (answered {kind!r})")

    def request(self, payload: bytes, deadline: float) -> tuple[bytes, bytes]:
        """The answer; raises ``_Gone`` when the (idle) process had already ended, ``_Expired`` at the deadline."""
        try:
            self._in.write(_LENGTH.pack(len(payload)) + payload)
            self._in.flush()
        except OSError as exc:  # BrokenPipeError: it ended while idle, before this request
            raise _Gone from exc
        return self._receive(deadline)

    def _receive(self, deadline: float) -> tuple[bytes, bytes]:
        """(kind, payload); (b"", b"") when the process ended; raises ``_Expired`` at the deadline."""
        kind = self._read(1, deadline)
        if not kind:
            return b"", b""
        head = self._read(_LENGTH.size, deadline)
        if len(head) < _LENGTH.size:
            return b"", b""
        size = _LENGTH.unpack(head)[0]
        body = self._read(size, deadline)
        if len(body) < size:
            return b"", b""
        return kind, body

    def _read(self, size: int, deadline: float) -> bytes:
        data = bytearray()
        while len(data) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Expired
            ready, _, _ = select.select([self._out], [], [], remaining)
            if not ready:
                raise _Expired
            chunk = os.read(self._out, min(size - len(data), 1 << 20))
            if not chunk:
                return bytes(data)
            data += chunk
        return bytes(data)

    def ended(self, wait: float = 5.0) -> int | None:
        try:
            return self.process.wait(wait)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):  # unflushed bytes for a process that is gone
                    stream.close()


class _Expired(Exception):
    pass


class _Gone(Exception):
    pass


class RenderSandbox:
    def __init__(self, limits: RenderLimits, *, workers: int = 2) -> None:
        self.limits = limits
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(workers)
        self._workers = workers
        self._lock = threading.Lock()
        self._all: set[_Worker] = set()
        self.started = 0  # processes started so far (tests and the benchmark read it)
        # The typst root, local package path and package cache of every worker: empty and read-only.
        self._empty = tempfile.mkdtemp(prefix="contracts-typst-")
        os.chmod(self._empty, 0o500)
        self._closed = False

    def warm_up(self) -> None:
        """Start every worker now instead of on first use."""
        while True:
            with self._slots:
                with self._lock:
                    if len(self._all) >= self._workers:
                        return
                self._idle.put(self._start())

    def render(self, source: str, inputs: dict[str, str], *, timestamp: int) -> bytes:
        payload = json.dumps(
            {"source": source, "inputs": inputs, "timestamp": timestamp, "cpu_seconds": self.limits.cpu_seconds},
            ensure_ascii=False,
        ).encode("utf-8")
        with self._slots:
            worker = self._checkout()
            deadline = time.monotonic() + self.limits.wall_seconds
            try:
                try:
                    kind, body = worker.request(payload, deadline)
                except _Gone:  # an idle worker that ended meanwhile (killed from outside): once more, a fresh one
                    self._discard(worker)
                    worker = self._start()
                    kind, body = worker.request(payload, deadline)
            except _Expired:
                self._discard(worker)
                raise RenderTimeout(
                    f"the template took longer than {self.limits.wall_seconds:g} s to render and was stopped"
                ) from None
            except BaseException:
                self._discard(worker)
                raise
            if kind == b"P":
                self._idle.put(worker)
                return body
            if kind == b"E":
                error = json.loads(body)
                if error["kind"] == "memory":
                    self._discard(worker)
                    raise self._out_of_memory()
                self._idle.put(worker)
                if error["kind"] == "package":
                    raise TemplateError(f"templates may not import typst packages: {error['message'][:2000]}")
                raise TemplateError(f"the template does not compile: {error['message'][:2000]}")
            returncode = worker.ended()
            self._discard(worker)
            raise self._died(returncode)

    def close(self) -> None:
        with self._lock:
            workers, self._all, self._closed = list(self._all), set(), True
        for worker in workers:
            worker.kill()
        with contextlib.suppress(OSError):
            os.rmdir(self._empty)

    def _checkout(self) -> _Worker:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return self._start()

    def _start(self) -> _Worker:
        if self._closed:
            raise RuntimeError("the render sandbox is closed")
        try:
            worker = _Worker(self.limits, self._empty)
        except (_Expired, _Gone, OSError) as exc:
            raise RuntimeError(f"the render worker could not be started: {exc!r}") from exc
        with self._lock:
            self._all.add(worker)
            self.started += 1
        return worker

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)

    def _out_of_memory(self) -> TemplateError:
        megabytes = self.limits.memory_bytes // (1024 * 1024)
        return RenderOutOfMemory(f"the template needed more than {megabytes} MiB of memory to render and was stopped")

    def _died(self, returncode: int | None) -> TemplateError:
        if returncode == -signal.SIGXCPU:
            return RenderTimeout(
                f"the template used more than {self.limits.cpu_seconds} s of CPU to render and was stopped"
            )
        if returncode in (-signal.SIGABRT, -signal.SIGKILL):
            return self._out_of_memory()
        return TemplateError(f"the renderer stopped while rendering the template (exit {returncode})")
