"""``python -m backoffice_<svc> dlq list|redrive``: the admin endpoint's work, from a shell next to Kafka."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence

from fastapi import FastAPI

from backoffice_common.dlq import DeadLetterDesk, RecordRef
from backoffice_common.dlq_api import read_model


def add_arguments(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    dlq = sub.add_parser("dlq", help="list or redrive the records this service's consumer dead-lettered")
    actions = dlq.add_subparsers(dest="dlq_command", required=True)
    listing = actions.add_parser("list", help="print the dead letters as JSON lines, oldest first")
    listing.add_argument("--all", action="store_true", help="include the ones already redriven")
    redrive = actions.add_parser("redrive", help="re-publish chosen dead letters to their original topic")
    redrive.add_argument("--event-id", action="append", default=[], help="an event id (repeatable)")
    redrive.add_argument(
        "--record", action="append", default=[], type=_record_ref, help="TOPIC:PARTITION:OFFSET (repeatable)"
    )
    redrive.add_argument("--by", default="cli", help="who redrives (recorded in the marker)")


def run(app: FastAPI, args: argparse.Namespace) -> int:
    desk: DeadLetterDesk = app.state.dead_letters
    return asyncio.run(_run(desk, args))


async def _run(desk: DeadLetterDesk, args: argparse.Namespace) -> int:
    if args.dlq_command == "list":
        for letter in await desk.letters(include_redriven=args.all):
            print(read_model(letter).model_dump_json())
        return 0
    if not args.event_id and not args.record:
        raise SystemExit("dlq redrive: name what to redrive with --event-id or --record")
    outcomes = await desk.redrive(refs=args.record, event_ids=args.event_id, by=args.by)
    for o in outcomes:
        print(
            json.dumps(
                {
                    "topic": o.ref.topic,
                    "partition": o.ref.partition,
                    "offset": o.ref.offset,
                    "event_id": o.event_id,
                    "outcome": o.outcome,
                    "republished_to": o.republished_to,
                }
            )
        )
    found = {o.event_id for o in outcomes} | {f"{o.ref.topic}:{o.ref.partition}:{o.ref.offset}" for o in outcomes}
    chosen = [*args.event_id, *(f"{r.topic}:{r.partition}:{r.offset}" for r in args.record)]
    missing = [item for item in chosen if item not in found]
    for item in missing:
        print(json.dumps({"not_found": item}))
    return 1 if missing else 0


def _record_ref(text: str) -> RecordRef:
    topic, _, rest = text.rpartition(":")
    topic, _, partition = topic.rpartition(":")
    try:
        if not topic:
            raise ValueError(text)
        return RecordRef(topic, int(partition), int(rest))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not TOPIC:PARTITION:OFFSET") from None


async def main(app: FastAPI, argv: Sequence[str]) -> int:
    """Parse ``argv`` (the words after ``dlq``) and run it inside a running event loop; for tests and scripts."""
    parser = argparse.ArgumentParser(prog="dlq")
    add_arguments(parser.add_subparsers(dest="command", required=True))
    return await _run(app.state.dead_letters, parser.parse_args(["dlq", *argv]))
