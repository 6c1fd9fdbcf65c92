"""Where a hop's time goes: the segments of every event link, from the probe's logs (not a test).

Reads the JSON lines that ``services/common/bench/hop_probe/sitecustomize.py`` wrote in each
service process (``HOP_PROBE_DIR``), joins them by event id, and prints for every link "cause ->
effect @ consuming service" (an event and the event its handler published, ``causationid``) the
p50/p99 of each segment:

    cause.time -> commit      the rest of the producing command or handler, and its commit
    commit -> notify          the relay's LISTEN/NOTIFY callback (negative: it ran before the
                              committing coroutine resumed)
    notify -> fetched         the relay's pass that read the row
    fetched -> send           the key's task reaching ``producer.send``
    send -> ack               linger, the produce request, the broker's append and answer
    ack -> got                the consumer's fetch returning it and ``getmany`` handing it over
    got -> handle             waiting for the consumer loop (other partitions, earlier records)
    handle -> effect.time     the handler's work until it creates the effect (``occurred_at``)

and the bench's hops (``backoffice_cli.flow.HOPS``) from the events' own times per subject.

    .venv/bin/python services/common/bench/hop_breakdown.py /tmp/hops [--since EPOCH]
"""

from __future__ import annotations

import argparse
import bisect
import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from backoffice_cli.flow import HOPS

SEGMENTS = [
    ("cause.time -> commit", "time", "commit"),
    ("commit -> notify", "commit", "notify"),
    ("notify -> fetched", "notify", "fetched"),
    ("fetched -> send", "fetched", "send"),
    ("send -> ack", "send", "ack"),
    ("ack -> got", "ack", "got"),
    ("got -> handle", "got", "handle"),
    ("handle -> effect.time", "handle", "effect"),
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def load(folder: Path, since: float) -> list[dict[str, Any]]:
    lines = []
    for path in folder.glob("*.jsonl"):
        for raw in path.read_text().splitlines():
            try:
                entry = json.loads(raw)
            except json.JSONDecodeError:
                continue
            if entry["t"] >= since:
                lines.append(entry)
    return lines


def analyse(lines: list[dict[str, Any]]) -> tuple[dict[str, dict[str, list[float]]], dict[str, list[float]]]:
    events: dict[str, dict[str, Any]] = {}
    first: dict[tuple[str, str, str], float] = {}  # (kind, svc, id) -> t
    notifies: dict[str, list[float]] = defaultdict(list)
    for e in lines:
        kind = e["k"]
        if kind == "ev":
            events.setdefault(e["id"], e)
        elif kind == "commit":
            for i in e["ids"]:
                first.setdefault(("commit", e["svc"], i), e["t"])
        elif kind == "notify":
            notifies[e["svc"]].append(e["t"])
        elif kind in ("fetched", "send", "ack", "got", "handle", "handled") and e.get("id"):
            key = (kind, e["svc"], e["id"])
            first[key] = min(first.get(key, e["t"]), e["t"])
    for times in notifies.values():
        times.sort()

    links: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for effect in events.values():
        cause = events.get(effect.get("cause") or "")
        if cause is None:
            continue
        src, dst, cid = cause["svc"], effect["svc"], cause["id"]
        points: dict[str, float | None] = {
            "time": cause["time"],
            "commit": first.get(("commit", src, cid)),
            "fetched": first.get(("fetched", src, cid)),
            "send": first.get(("send", src, cid)),
            "ack": first.get(("ack", src, cid)),
            "got": first.get(("got", dst, cid)),
            "handle": first.get(("handle", dst, cid)),
            "effect": effect["time"],
        }
        # the first notification of the producing process after the row was written (the flush)
        times = notifies.get(src, [])
        at = bisect.bisect_left(times, cause["t"])
        fetched = points["fetched"]
        points["notify"] = times[at] if at < len(times) and fetched and times[at] <= fetched else None
        name = f"{cause['type']} -> {effect['type']} @ {dst}"
        row = links[name]
        row["total"].append(effect["time"] - cause["time"])
        for label, a, b in SEGMENTS:
            pa, pb = points.get(a), points.get(b)
            if pa is not None and pb is not None:
                row[label].append(pb - pa)

    hops: dict[str, list[float]] = defaultdict(list)
    by_subject: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events.values():
        if e.get("subject"):
            by_subject[e["subject"]].append(e)
    for entries in by_subject.values():
        for hop, (start_type, end_type) in HOPS.items():
            starts = [e["time"] for e in entries if e["type"] == start_type]
            ends = [e["time"] for e in entries if e["type"] == end_type]
            if not starts or not ends:
                continue
            start = max(starts) if start_type == "contract.signed" else min(starts)
            later = [t for t in ends if t >= start]
            if later:
                hops[hop].append(min(later) - start)
    return links, hops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--since", type=float, default=0.0, help="only lines at or after this POSIX time")
    parser.add_argument("--min-count", type=int, default=5, help="links seen fewer times are left out")
    args = parser.parse_args()
    links, hops = analyse(load(args.folder, args.since))
    print("hops (events' own times, ms): n, p50, p99, max")
    for hop, values in hops.items():
        ms = [v * 1000 for v in values]
        print(f"  {hop:42s} {len(ms):4d} {pct(ms, 0.5):7.1f} {pct(ms, 0.99):7.1f} {max(ms):7.1f}")
    print("\nlinks (ms): segment n p50 p99")
    for name, row in sorted(links.items(), key=lambda kv: -statistics.median(kv[1]["total"])):
        if len(row["total"]) < args.min_count:
            continue
        ms = [v * 1000 for v in row["total"]]
        print(f"{name}: n={len(ms)} total p50 {pct(ms, 0.5):.1f} p99 {pct(ms, 0.99):.1f}")
        for label, _, _ in SEGMENTS:
            values = [v * 1000 for v in row.get(label, [])]
            if values:
                print(f"    {label:24s} {len(values):4d} {pct(values, 0.5):7.1f} {pct(values, 0.99):7.1f}")


if __name__ == "__main__":
    main()
