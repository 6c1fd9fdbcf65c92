"""The typst render worker: a child process that compiles admin templates under resource limits.

Started by ``sandbox.RenderSandbox`` as ``python -I <this file> <memory bytes> <empty directory>`` (a script, not
a module of the package, so it imports nothing but the standard library and typst). It reads requests on stdin
and answers on stdout until stdin closes, so one warm process renders many contracts.

Its confinement, set up before typst is imported:

- no network: a new user and network namespace when the kernel allows one (only a loopback that is down), and in
  any case every proxy variable pointed at a closed loopback port, so a package download fails at once;
- no packages: typst's local package path and package cache are empty, read-only directories, so
  ``@local/...`` and ``@preview/...`` imports (whatever expression names them) fail in typst's package resolver;
- no files: the project root is an empty, read-only directory;
- ``RLIMIT_AS`` (memory: an allocation beyond it aborts the process) and, per request, ``RLIMIT_CPU`` (the
  soft limit is moved to the CPU time used so far plus the request's allowance: the kernel kills the process
  with ``SIGXCPU`` beyond it). The parent adds the wall-clock limit and kills the process on timeout.

Frames: a 4-byte big-endian length, then that many bytes. A request is one JSON frame
``{"source", "inputs", "timestamp", "cpu_seconds"}``; an answer is a one-byte kind (``P``: the PDF follows,
``E``: a JSON ``{"kind", "message"}`` follows) and one frame. ``R`` alone on start-up: ready.
"""

from __future__ import annotations

import json
import os
import resource
import struct
import sys
from typing import Any, BinaryIO

_LENGTH = struct.Struct(">I")
# A closed port on loopback: any HTTP(S) request of the package downloader is refused at once.
_NO_PROXY_TARGET = "http://127.0.0.1:9"


def _isolate_network() -> bool:
    """A user + network namespace of its own: no interface but a down loopback. False when not allowed."""
    unshare = getattr(os, "unshare", None)
    if unshare is None:  # Python < 3.12
        return _unshare_with_libc()
    try:
        unshare(os.CLONE_NEWUSER | os.CLONE_NEWNET)  # type: ignore[attr-defined,unused-ignore]
    except OSError:
        return False
    return True


def _unshare_with_libc() -> bool:
    import ctypes

    clone_newuser, clone_newnet = 0x10000000, 0x40000000
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.unshare(clone_newuser | clone_newnet) == 0)
    except (OSError, AttributeError):
        return False


def _read_exact(stream: BinaryIO, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = stream.read(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def _answer(out: BinaryIO, kind: bytes, payload: bytes) -> None:
    out.write(kind + _LENGTH.pack(len(payload)) + payload)
    out.flush()


def _classify(message: str) -> str:
    lowered = message.lower()
    if "package" in lowered and ("not found" in lowered or "download" in lowered or "failed to load" in lowered):
        return "package"
    return "compile"


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str]) -> int:
    memory_bytes, empty = int(argv[1]), argv[2]
    _isolate_network()
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        os.environ[name] = _NO_PROXY_TARGET
    for name in ("NO_PROXY", "no_proxy"):
        os.environ.pop(name, None)
    os.environ["RUST_BACKTRACE"] = "0"
    root = packages = cache = empty
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # it writes no file
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # and leaves no core dump when a limit kills it
    _, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)

    import typst  # after the limits: the compiler and its fonts live inside them

    # One compiler for the life of the process: fonts are loaded once (about a fifth of a render's CPU).
    compiler = typst.Compiler(root=root, ignore_system_fonts=True, package_path=packages, package_cache_path=cache)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    _answer(stdout, b"R", b"")
    while True:
        head = _read_exact(stdin, _LENGTH.size)
        if head is None:
            return 0
        frame = _read_exact(stdin, _LENGTH.unpack(head)[0])
        if frame is None:
            return 0
        request: dict[str, Any] = json.loads(frame)
        allowance = int(_cpu_used()) + int(request["cpu_seconds"]) + 1
        if cpu_hard != resource.RLIM_INFINITY:
            allowance = min(allowance, cpu_hard)
        resource.setrlimit(resource.RLIMIT_CPU, (allowance, cpu_hard))
        try:
            pdf = compiler.compile(
                input=request["source"].encode("utf-8"),
                sys_inputs=request["inputs"],
                timestamp=int(request["timestamp"]),
            )
        except MemoryError:
            _answer(stdout, b"E", json.dumps({"kind": "memory", "message": "out of memory"}).encode())
            return 3  # the heap may be in any state: a fresh worker takes over
        except Exception as exc:  # typst raises TypstError (and ValueError for bad arguments)
            message = str(exc)
            _answer(stdout, b"E", json.dumps({"kind": _classify(message), "message": message[:4000]}).encode())
            continue
        if not isinstance(pdf, bytes):
            _answer(stdout, b"E", json.dumps({"kind": "compile", "message": "no PDF was produced"}).encode())
            continue
        _answer(stdout, b"P", pdf)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
