"""A fake unit of work with in-memory repositories, and a fake document adapter: use cases without I/O.

The fake unit of work works on a copy of its ``Store`` and writes it back only on ``commit``, so a test
can assert that a refused or failed use case left nothing behind. Its events go through the service's own
``cloud_events`` (the function ``ContractsUnitOfWork.collect_events`` uses), so the tests see the CloudEvents
that would go to the outbox: types, data, causation and correlation.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backoffice_common.events import CloudEvent
from backoffice_contracts.domain.contract import OPEN_STATUSES, Contract
from backoffice_contracts.domain.errors import TemplateError
from backoffice_contracts.domain.signature import Refusal
from backoffice_contracts.domain.verification import SealCheck
from backoffice_contracts.service.uow import cloud_events


@dataclass
class Store:
    contracts: dict[str, Contract] = field(default_factory=dict)
    drafts: dict[str, bytes] = field(default_factory=dict)
    executed: dict[str, bytes] = field(default_factory=dict)
    refusals: list[Refusal] = field(default_factory=list)
    templates: list[dict[str, Any]] = field(default_factory=list)
    vendors: dict[str, dict[str, Any]] = field(default_factory=dict)
    cancelled: dict[str, dict[str, Any]] = field(default_factory=dict)
    approvals: dict[tuple[str, str], list[str]] = field(default_factory=dict)


def _stored(aggregate: Contract) -> Contract:
    """What a database row keeps: no recorded events, no pending signatures, no documents."""
    return dataclasses.replace(
        copy.deepcopy(aggregate),
        draft=None,
        sealed=None,
        new_signatures=[],
        events=[],
        signatures=list(aggregate.signatures),
    )


class FakeContracts:
    def __init__(self, store: Store, track: Any) -> None:
        self._store = store
        self._track = track

    def _load(self, contract_id: str) -> Contract:
        loaded = copy.deepcopy(self._store.contracts[contract_id])
        self._track(loaded)
        return loaded

    async def get(self, contract_id: str, *, for_update: bool = False) -> Contract | None:
        return self._load(contract_id) if contract_id in self._store.contracts else None

    async def open_of_request(self, request_id: str, *, before_revision: int | None = None) -> list[Contract]:
        found = [
            c
            for c in self._store.contracts.values()
            if c.request_id == request_id
            and c.status in OPEN_STATUSES
            and (before_revision is None or c.revision < before_revision)
        ]
        return [self._load(c.id) for c in sorted(found, key=lambda c: c.revision)]

    async def due_for_expiry(self, *, now: datetime, limit: int) -> list[Contract]:
        due = [c for c in self._store.contracts.values() if c.status in OPEN_STATUSES and c.expires_at <= now]
        return [self._load(c.id) for c in sorted(due, key=lambda c: c.expires_at)[:limit]]

    async def newest_revision(self, request_id: str) -> int | None:
        revisions = [c.revision for c in self._store.contracts.values() if c.request_id == request_id]
        return max(revisions, default=None)

    async def draft_document(self, contract_id: str) -> bytes:
        return self._store.drafts[contract_id]

    async def add(self, aggregate: Contract) -> None:
        assert aggregate.draft is not None
        if any(
            c.request_id == aggregate.request_id and c.revision == aggregate.revision
            for c in self._store.contracts.values()
        ):
            raise AssertionError("unique (request_id, revision) violated")
        self._store.contracts[aggregate.id] = _stored(aggregate)
        self._store.drafts[aggregate.id] = aggregate.draft.document
        self._track(aggregate)

    async def save(self, aggregate: Contract) -> None:
        assert aggregate.id in self._store.contracts
        if aggregate.sealed is not None:
            self._store.executed[aggregate.id] = aggregate.sealed.content
        aggregate.new_signatures = []
        self._store.contracts[aggregate.id] = _stored(aggregate)

    async def add_refusal(self, refusal: Refusal) -> None:
        self._store.refusals.append(refusal)


class FakeTemplates:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def latest(self, language: str) -> dict[str, Any] | None:
        versions = [t for t in self._store.templates if t["language"] == language]
        return max(versions, key=lambda t: t["version"], default=None)

    async def active(self, language: str) -> dict[str, Any] | None:
        versions = [t for t in self._store.templates if t["language"] == language and t.get("activated_at")]
        return max(versions, key=lambda t: t["version"], default=None)

    async def active_versions(self) -> dict[str, int]:
        return {lang: t["version"] for lang in ("en", "de") if (t := await self.active(lang)) is not None}

    async def get(self, language: str, version: int, *, for_update: bool = False) -> dict[str, Any] | None:
        return next((t for t in self._store.templates if (t["language"], t["version"]) == (language, version)), None)

    async def lock_language(self, language: str) -> None:
        return None

    async def activate(self, *, language: str, version: int, activated_by: str, at: datetime) -> None:
        template = await self.get(language, version)
        assert template is not None
        template.update(activated_by=activated_by, activated_at=at)

    async def all(self) -> list[dict[str, Any]]:
        return sorted(self._store.templates, key=lambda t: (t["language"], t["version"]))

    async def add_version(self, *, language: str, body: str, description: str, created_by: str) -> dict[str, Any]:
        latest = await self.latest(language)
        values = {
            "id": str(uuid.uuid4()),
            "language": language,
            "version": (latest["version"] if latest else 0) + 1,
            "body": body,
            "description": description,
            "created_by": created_by,
        }
        self._store.templates.append(values)
        return values


class FakeVendors:
    def __init__(self, store: Store) -> None:
        self._store = store
        self.reads: list[str] = []
        """The vendor ids read, one entry a read (a statement in the real repository)."""

    async def upsert(self, values: dict[str, Any]) -> None:
        current = self._store.vendors.get(values["vendor_id"])
        if current is None or current["updated_at"] <= values["updated_at"]:
            self._store.vendors[values["vendor_id"]] = dict(values)

    async def get(self, vendor_id: str) -> dict[str, Any] | None:
        self.reads.append(vendor_id)
        return self._store.vendors.get(vendor_id)


class FakeCancellations:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def record(self, *, request_id: str, revision: int, reason: str) -> None:
        self._store.cancelled.setdefault(request_id, {"revision": revision, "reason": reason})

    async def is_cancelled(self, request_id: str) -> bool:
        return request_id in self._store.cancelled


class FakeApprovals:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def record(
        self, *, request_id: str, chain_id: str, revision: int, approver_ids: list[str], approved_at: datetime
    ) -> None:
        self._store.approvals.setdefault((request_id, chain_id), list(approver_ids))

    async def approvers(self, request_id: str) -> frozenset[str] | None:
        found = [ids for (request, _), ids in self._store.approvals.items() if request == request_id]
        return frozenset(i for ids in found for i in ids) if found else None


class FakeUnitOfWork:
    """Stands in for ``ContractsUnitOfWork``: same repositories by name, ``committed``, ``published``."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store or Store()
        self._work = copy.deepcopy(self.store)
        self.seen: list[Any] = []
        self.cause: CloudEvent | None = None
        self.committed = False
        self.published: list[CloudEvent] = []
        self.facts: list[tuple[str, str | None, dict[str, Any]]] = []
        self.contracts = FakeContracts(self._work, self.track)
        self.templates = FakeTemplates(self._work)
        self.vendors = FakeVendors(self._work)
        self.cancellations = FakeCancellations(self._work)
        self.approvals = FakeApprovals(self._work)

    async def __aenter__(self) -> FakeUnitOfWork:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def rollback(self) -> None:
        return None

    def track(self, aggregate: Any) -> None:
        if not any(seen is aggregate for seen in self.seen):
            self.seen.append(aggregate)

    def caused_by(self, event: CloudEvent | None) -> None:
        self.cause = event

    def record_fact(self, *, type: str, subject: str | None, data: dict[str, Any]) -> None:
        self.facts.append((type, subject, data))

    async def commit(self) -> None:
        self.published.extend(cloud_events(self.seen, cause=self.cause))
        self.store.__dict__.update(copy.deepcopy(self._work).__dict__)
        self.committed = True

    def of_type(self, type_: str) -> list[CloudEvent]:
        return [e for e in self.published if e.type == type_]


class FakeDocuments:
    """Deterministic stand-ins for typst and pyHanko: CPU-free, file-free, inspectable.

    ``render`` embeds the data as JSON; ``seal_executed`` appends the signature page data and a seal marker.
    Set ``sealing_error`` to make sealing fail as a broken key or certificate would.
    """

    def __init__(self) -> None:
        self.sealing_error: Exception | None = None
        self.rendered: list[tuple[str, dict[str, Any]]] = []
        self.sealed: list[tuple[bytes, dict[str, Any]]] = []

    def render(self, source: str, data: dict[str, Any], *, at: datetime | None = None) -> bytes:
        if "#broken" in source:
            raise TemplateError("the template does not compile: unclosed delimiter")
        self.rendered.append((source, data))
        return b"%PDF-draft " + source.encode() + b" " + json.dumps(data, sort_keys=True).encode()

    def seal_executed(self, draft: bytes, signature_page: dict[str, Any]) -> bytes:
        if self.sealing_error is not None:
            raise self.sealing_error
        self.sealed.append((draft, signature_page))
        return draft + b"\n%signature-page " + json.dumps(signature_page, sort_keys=True).encode() + b"\n%sealed"

    def check_seal(self, document: bytes) -> SealCheck:
        sealed = document.endswith(b"%sealed")
        return SealCheck(sealed, sealed, sealed, sealed, "CN=fake seal" if sealed else None)
