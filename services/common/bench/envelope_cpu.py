"""Decoding a record's CloudEvent, the old path (``json`` + ``model_validate``) against the new one
(``model_validate_json``), alternated in one run (not a test).

Every consumption of every event decodes its envelope (a flow: 16 events consumed 33 times). The
events are the shape the services publish (about 1 KB of data with nested objects). Both paths must
give equal events for every sample before timing.

    .venv/bin/python services/common/bench/envelope_cpu.py --n 20000 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from backoffice_common.events import CloudEvent, new_event


def old_decode(raw: bytes) -> CloudEvent:
    decoded = json.loads(raw.decode("utf-8"))
    assert isinstance(decoded, dict)
    assert decoded.get("specversion") == "1.0"
    return CloudEvent.model_validate(decoded)


def samples() -> list[bytes]:
    lines = [
        {"sku": f"SKU-{i}", "description": f"Laptop stand, aluminium ({i})", "quantity": i, "unit_price": "129.90"}
        for i in range(1, 5)
    ]
    events = [
        new_event(
            type="purchase_request.submitted",
            service="requests",
            subject="0b9f8f7e-5d0c-4b47-9a43-2f6cbd1bdf8e",
            data={
                "request": {
                    "id": "0b9f8f7e-5d0c-4b47-9a43-2f6cbd1bdf8e",
                    "number": "PR-2026-000123",
                    "title": "Laptop stands for the Berlin office",
                    "requester": {"id": "u-42", "name": "Jürgen Müller", "email": "j.mueller@example.com"},
                    "department": "Engineering",
                    "cost_center": "CC-4711",
                    "currency": "EUR",
                    "total": "519.60",
                    "lines": lines,
                },
                "revision": 1,
            },
        ),
        new_event(
            type="approval.task_assigned",
            service="approvals",
            subject="0b9f8f7e-5d0c-4b47-9a43-2f6cbd1bdf8e",
            data={
                "task_id": "t-1",
                "step": 1,
                "assignee": {"id": "u-7", "name": "Ada"},
                "due_at": "2026-12-01T10:00:00Z",
            },
        ),
    ]
    return [e.to_json_bytes() for e in events]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    raws = samples()
    for raw in raws:
        assert old_decode(raw) == CloudEvent.from_json_bytes(raw)
    paths = {"old": old_decode, "new": CloudEvent.from_json_bytes}
    results: dict[str, list[float]] = {name: [] for name in paths}
    for r in range(args.rounds):
        for name in paths if r % 2 == 0 else reversed(list(paths)):
            decode = paths[name]
            c0 = time.process_time()
            for i in range(args.n):
                decode(raws[i % len(raws)])
            results[name].append((time.process_time() - c0) / args.n * 1e6)
    load = os.getloadavg()
    print(f"CloudEvent decode of {len(raws)} sample records, {args.rounds} x {args.n}, load {load[0]:.2f}")
    for name, values in results.items():
        print(f"  {name}: {statistics.median(values):6.1f} us   (rounds {', '.join(f'{v:.1f}' for v in values)})")
    print(f"  ratio new/old {statistics.median(results['new']) / statistics.median(results['old']):.2f}")


if __name__ == "__main__":
    main()
