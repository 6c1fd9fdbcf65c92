"""The mail sink's queries on a full folder, old against new (not a test).

One folder of ``--emails`` emails as notifications sends them (``build_mail``, a handful of recipients), written
once; then, ``--rounds`` times, the old sink (``deploy/mailsink.py`` of ``--old-ref``) and the new one (the working
tree's) are started on it in turn, each alone: the CPU (utime + stime from ``/proc``) from its start to the answer
of its first ``GET /messages?to=`` (the new one builds its index at start), then the mean CPU of ``--queries``
times three queries after that (``?to=`` an address of a seventh of the emails with ``limit=5``, ``?to=`` an address of
none, the ``/health`` count). Both must first give
the same answers (the JSON but the arrival times).

    .venv/bin/python services/common/bench/mailsink_query_cpu.py --emails 3000 --rounds 2
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from statistics import median
from typing import Any

from mailsink_cpu import TICK, cpu_ticks, free_port, mails

ROOT = Path(__file__).resolve().parents[3]


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=600) as response:  # noqa: S310 (http on loopback)
        return json.loads(response.read())


def start(script: Path, folder: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    smtp, http = free_port(), free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, str(script), "--smtp-port", str(smtp), "--http-port", str(http), "--dir", str(folder)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{http}"
    deadline = time.monotonic() + 60
    while True:
        try:
            get(f"{base}/health")
            return proc, base
        except OSError:
            assert proc.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline
            time.sleep(0.05)


def answers(base: str, queries: list[str]) -> list[Any]:
    found = []
    for query in queries:
        answer = get(f"{base}{query}")
        if isinstance(answer, list):
            answer = [{k: v for k, v in m.items() if k != "received_at"} for m in answer]
        found.append(answer)
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old-ref", default="HEAD")
    ap.add_argument("--emails", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--queries", type=int, default=20)
    args = ap.parse_args()
    queries = ["/messages?to=vendor3@example.com&limit=5", "/messages?to=nobody@example.com", "/health"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        scripts = {"old": work / "mailsink_old.py", "new": ROOT / "deploy" / "mailsink.py"}
        scripts["old"].write_bytes(
            subprocess.check_output(["git", "-C", str(ROOT), "show", f"{args.old_ref}:deploy/mailsink.py"])
        )
        spec = importlib.util.spec_from_file_location("mailsink_new", scripts["new"])
        assert spec is not None
        assert spec.loader is not None
        sink: Any = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sink)
        folder = work / "mail"
        store = sink.Store(folder)
        for mail in mails(args.emails, "q"):
            store.save(mail.content, mail.sender, mail.recipients)
        print(f"{args.emails} emails in the folder; load {os.getloadavg()[0]:.1f}")
        first: dict[str, list[float]] = {"old": [], "new": []}
        later: dict[str, list[float]] = {"old": [], "new": []}
        expected: list[Any] | None = None
        for r in range(args.rounds):
            for name in ("old", "new") if r % 2 == 0 else ("new", "old"):
                proc, base = start(scripts[name], folder, work / f"{name}.log")
                try:
                    get(f"{base}{queries[0]}")
                    first[name].append(cpu_ticks(proc.pid) * 1000 / TICK)
                    got = answers(base, queries)
                    assert expected is None or got == expected, f"{name} answers differently"
                    expected = got
                    before = cpu_ticks(proc.pid)
                    for _ in range(args.queries):
                        answers(base, queries)
                    later[name].append((cpu_ticks(proc.pid) - before) * 1000 / TICK / args.queries)
                finally:
                    proc.terminate()
                    proc.wait(10)
            print(
                f"round {r}: start + first query old {first['old'][-1]:.0f} ms, new {first['new'][-1]:.0f} ms;"
                f" then three queries old {later['old'][-1]:.1f} ms, new {later['new'][-1]:.1f} ms;"
                f" load {os.getloadavg()[0]:.1f}"
            )
        for name in ("old", "new"):
            print(f"{name}: start + first query {median(first[name]):.0f} ms, three more {median(later[name]):.1f} ms")


if __name__ == "__main__":
    main()
