"""Whether notifications on ``--old-ref``'s sources and on the working tree's do the same per flow (not a test).

Against ``make run``: for each side (old, new, alternated ``--rounds`` times) restarts the notifications service
(``deploy/services.sh restart notifications``; old: ``git archive`` of ``--old-ref``'s sources first on
``PYTHONPATH``, as ``services/common/bench/mailsink_per_flow.py`` does), rests, runs ``backoffice load --flows N``
and then reads what the service did for those flows from its database:

- every delivery (email and webhook): channel, template, language, recipient, subject and bodies, the webhook
  payload, status and attempts, with what differs from flow to flow masked (ids, numbers, signed tokens);
- every event it published (the outbox): topic and type.

Both sides must give the same multiset per flow (the emails' bytes are built from these rows by the same code
on both sides: ``mail.smtp.build_mail`` is not changed). Prints the counts and exits non-zero on a difference.

    export BACKOFFICE_PROFILE=run; source deploy/env.sh
    .venv/bin/python services/notifications/bench/flow_outputs_ab.py --old-ref 92fc9e7 --flows 5
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parents[3]
MASKS = (
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"/(l|vendor-links|vendor-secrets|links)/[A-Za-z0-9._~=-]+"), r"/\1/<token>"),
    (re.compile(r"[A-Za-z0-9_-]{32,}"), "<token>"),
    (re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{6,8}(?![0-9A-Za-z])"), "<tag>"),  # a load run's tag (addresses, names)
    (re.compile(r"\d"), "9"),
)


def masked(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text or "")
    return text


def digest(value: Any) -> str:
    return hashlib.sha256(masked(value).encode()).hexdigest()[:12]


def restart(sources: Path | None) -> None:
    env = {**os.environ, "PYTHONPATH": str(sources)} if sources else dict(os.environ)
    subprocess.run(
        ["bash", str(ROOT / "deploy" / "services.sh"), "restart", "notifications"], env=env, check=True,
        capture_output=True,
    )  # fmt: skip


async def outputs(since: Any) -> tuple[Counter[tuple[Any, ...]], Counter[tuple[str, str]], int]:
    conn = await asyncpg.connect(os.environ["BACKOFFICE_PG_DSN_BASE"] + "/notifications")
    try:
        rows = await conn.fetch(
            "SELECT channel, template, language, recipient, subject, body_text, body_html, payload::text AS payload,"
            " status, attempts, request_id FROM delivery WHERE created_at >= $1",
            since,
        )
        events = await conn.fetch("SELECT topic, event_type FROM outbox_message WHERE created_at >= $1", since)
    finally:
        await conn.close()
    deliveries = Counter(
        (
            r["channel"],
            r["template"],
            r["language"],
            masked(r["recipient"]),
            masked(r["subject"]),
            digest(r["body_text"]),
            digest(r["body_html"]),
            digest(json.loads(r["payload"]) if r["payload"] else None),
            r["status"],
            r["attempts"],
        )
        for r in rows
    )
    return deliveries, Counter((e["topic"], e["event_type"]) for e in events), len({r["request_id"] for r in rows})


async def now() -> Any:
    conn = await asyncpg.connect(os.environ["BACKOFFICE_PG_DSN_BASE"] + "/notifications")
    try:
        return await conn.fetchval("SELECT now()")
    finally:
        await conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old-ref", required=True)
    ap.add_argument("--flows", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--rest", type=float, default=8.0)
    args = ap.parse_args()
    seen: dict[str, list[tuple[Counter[tuple[Any, ...]], Counter[tuple[str, str]], int]]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.check_output(
            ["git", "-C", str(ROOT), "archive", args.old_ref, "services/notifications/src"]
        )
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        old_src = Path(tmp, "services", "notifications", "src")
        try:
            for r in range(args.rounds):
                for side in ("old", "new") if r % 2 == 0 else ("new", "old"):
                    restart(old_src if side == "old" else None)
                    time.sleep(args.rest)
                    since = asyncio.run(now())
                    load = subprocess.run(
                        [sys.executable, "-m", "backoffice_cli", "load", "--flows", str(args.flows), "--rate", "1"],
                        capture_output=True, text=True, check=False, timeout=600,
                    )  # fmt: skip
                    match = re.search(r": (\d+) completed", load.stdout)
                    flows = int(match.group(1)) if match else 0
                    time.sleep(5)  # the last deliveries and events
                    got = asyncio.run(outputs(since))
                    seen[side].append(got)
                    print(
                        f"{side}: {flows} flows completed; {sum(got[0].values())} deliveries of {got[2]} orders"
                        f" ({len(got[0])} kinds), {sum(got[1].values())} events ({len(got[1])} kinds)",
                        flush=True,
                    )
                    if flows != args.flows:
                        raise SystemExit(load.stdout[-1500:] + load.stderr[-1500:])
        finally:
            restart(None)
    reference = seen["old"][0]
    differ = False
    for side, runs in seen.items():
        for got in runs:
            for label, a, b in (("deliveries", reference[0], got[0]), ("events", reference[1], got[1])):
                if a != b:
                    differ = True
                    print(f"{side} differs from old in {label}: only old {a - b}, only {side} {b - a}")
    print("the same deliveries and events on both sides" if not differ else "DIFFERENT")
    for key, count in sorted(reference[0].items(), key=lambda kv: (kv[0][0], kv[0][1])):
        print(f"  {count:3d} x {key[0]:7} {key[1]:28} {key[8]:8} attempts {key[9]}")
    for (topic, type_), count in sorted(reference[1].items()):
        print(f"  {count:3d} x {topic} {type_}")
    raise SystemExit(1 if differ else 0)


if __name__ == "__main__":
    main()
