"""What the use-case tests share: settings, a store with the default templates, delivering an event as the
consumer would (handler, then commit), and a generated contract to sign."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from contracts_fakes import FakeDocuments, FakeUnitOfWork, Store
from contracts_testkit import approved, snapshot, vendor_accepted, vendor_record

from backoffice_common.auth import User
from backoffice_common.events import CloudEvent
from backoffice_contracts import consumers, service
from backoffice_contracts.settings import Settings

LINK_SECRET = "unit-test-link-secret-" + "x" * 20
PROCUREMENT = User(sub="paula", name="Paula Procurement", email="paula@buyer.example", roles=frozenset({"procurement"}))
SIGNATORY = User(sub="sam", name="Sam Signatory", email="sam@buyer.example", roles=frozenset({"approver"}))
REQUESTER = User(sub="alice", name="Alice", email="alice@example.com", roles=frozenset({"requester"}))
OUTSIDER = User(sub="mallory", name="Mallory", roles=frozenset({"requester", "approver"}))


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "development",
        "public_base_url": "http://contracts.test",
        "link_secret": LINK_SECRET,
        "buyer_signers": ["sam"],
        "signing_order": "vendor_first",
        "signature_ttl_hours": 48,
        "document_link_ttl_hours": 24,
    }
    return Settings(**{**values, **overrides})


def store_with_templates() -> Store:
    store = Store()
    for language in ("en", "de"):
        store.templates.append(
            {
                "id": f"t-{language}",
                "language": language,
                "version": 1,
                "body": f"#{language} v1",
                "created_by": "x",
                "activated_by": "system",
                "activated_at": datetime(2026, 1, 1, tzinfo=UTC),
            }
        )
    return store


@dataclass
class World:
    """The service's state between units of work, and the events it published so far."""

    settings: Settings = field(default_factory=settings)
    documents: FakeDocuments = field(default_factory=FakeDocuments)
    store: Store = field(default_factory=store_with_templates)
    published: list[CloudEvent] = field(default_factory=list)

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.store)

    async def deliver(self, event: CloudEvent) -> tuple[str | None, FakeUnitOfWork]:
        """What ``EventConsumer`` does with one event: the handler in a unit of work, then commit."""
        uow = self.uow()
        handler = consumers.handlers(self.settings, self.documents)[event.type]
        outcome = await handler(event, uow)  # type: ignore[arg-type]
        await uow.commit()
        self.published.extend(uow.published)
        return outcome, uow

    async def generate(
        self,
        *,
        language: str = "en",
        approvers: tuple[str, ...] = ("bob",),
        vendor: dict[str, Any] | None = None,
        **snapshot_fields: Any,
    ) -> tuple[CloudEvent, dict[str, Any]]:
        """A contract generated from a vendor's acceptance of an order approved by ``approvers`` (no approval
        read when empty); returns (contract.generated, the order snapshot)."""
        vendor = vendor or vendor_record(language=language)
        request = snapshot(vendor_id=vendor["vendor_id"], **snapshot_fields)
        if approvers:
            await self.deliver(approved(request, *approvers))
        _, uow = await self.deliver(vendor_accepted(request, vendor))
        return uow.of_type("contract.generated")[0], request

    def of_type(self, type_: str) -> list[CloudEvent]:
        return [e for e in self.published if e.type == type_]

    async def sign_as_buyer(
        self,
        generated: CloudEvent,
        *,
        user: User = PROCUREMENT,
        digest: str | None = None,
        uow: FakeUnitOfWork | None = None,
    ) -> FakeUnitOfWork:
        """The buyer's signature through the use case the API calls (it commits); hex case does not matter."""
        uow = uow or self.uow()
        await service.sign_as_buyer(
            uow=uow,
            settings=self.settings,
            documents=self.documents,
            contract_id=generated.data["contract_id"],
            user=user,
            document_sha256=digest or generated.data["document_sha256"].upper(),
            client_ip="198.51.100.4",
            user_agent="procurement-portal/1.0",
            now=datetime.now(UTC),
        )
        self.published.extend(uow.published)
        return uow
