"""Tables of the requests service."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    Sequence,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase

from backoffice_common.db import new_metadata
from backoffice_common.idempotency import idempotency_table
from backoffice_common.messaging import messaging_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


messaging = messaging_tables(Base.metadata, audit=True)

request_number_seq = Sequence("purchase_request_number_seq", metadata=Base.metadata)

purchase_request = Table(
    "purchase_request",
    Base.metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("number", String(20), nullable=False, unique=True),
    Column("requester_id", String(200), nullable=False),
    Column("requester_name", String(200), nullable=False),
    Column("requester_email", String(320), nullable=False),
    Column("requester_department", String(100), nullable=True),
    Column("status", String(40), nullable=False, index=True),
    Column("revision", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("title", String(200), nullable=False),
    Column("vendor_id", String(100), nullable=False, index=True),
    Column("department", String(100), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("total", Numeric(24, 6), nullable=False),
    Column("received", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Set when its timeline was moved to the object store (archive_timeline.py): its entries left the table.
    Column("timeline_archive_id", BigInteger, ForeignKey("timeline_archive.id"), nullable=True),
    Index("ix_purchase_request_created_at_id", "created_at", "id"),
)
# A requester's own list walks its own index; ``q`` is a trigram search (pg_trgm) on title and number.
Index(
    "ix_purchase_request_requester_created",
    purchase_request.c.requester_id,
    purchase_request.c.created_at.desc(),
    purchase_request.c.id.desc(),
)
Index(
    "ix_purchase_request_title_trgm",
    purchase_request.c.title,
    postgresql_using="gin",
    postgresql_with={"fastupdate": "off"},
    postgresql_ops={"title": "gin_trgm_ops"},
)
Index(
    "ix_purchase_request_number_trgm",
    purchase_request.c.number,
    postgresql_using="gin",
    postgresql_with={"fastupdate": "off"},
    postgresql_ops={"number": "gin_trgm_ops"},
)

request_revision = Table(
    "request_revision",
    Base.metadata,
    Column("request_id", UUID(as_uuid=False), ForeignKey("purchase_request.id"), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("content", JSONB, nullable=False),
    Column("created_by", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("request_id", "revision"),
)

timeline_archive = Table(
    "timeline_archive",
    Base.metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("object_key", String(300), nullable=False, unique=True),
    Column("sha256", String(64), nullable=False),
    Column("month", String(7), nullable=False),
    Column("requests", Integer, nullable=False),
    Column("entries", Integer, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("archived_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

timeline_entry = Table(
    "timeline_entry",
    Base.metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("request_id", UUID(as_uuid=False), ForeignKey("purchase_request.id"), nullable=False),
    Column("event_id", String(200), nullable=False, unique=True),
    Column("event_type", String(200), nullable=False),
    Column("source", String(200), nullable=False),
    Column("actor", JSONB, nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("note", Text, nullable=False, server_default=""),
    Column("status_after", String(40), nullable=False),
    Column("data", JSONB, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_timeline_entry_request_id_id", "request_id", "id"),
)

approver_assignment = Table(
    "approver_assignment",
    Base.metadata,
    Column("request_id", UUID(as_uuid=False), nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("task_id", String(200), nullable=False),
    Column("assigned_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("request_created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("request_id", "user_id"),
)
# An approver's requests in the list's order, so that their part of ``GET /requests`` is cut at the page size.
Index(
    "ix_approver_assignment_user_created",
    approver_assignment.c.user_id,
    approver_assignment.c.request_created_at.desc(),
    approver_assignment.c.request_id.desc(),
)

buyer_signer = Table(
    # Who signed a request's contract for the buyer (contract.signed, party buyer): the closure policy reads it.
    "buyer_signer",
    Base.metadata,
    Column("request_id", UUID(as_uuid=False), nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("request_id", "user_id"),
)

vendor = Table(
    "vendor",
    Base.metadata,
    Column("vendor_id", String(100), primary_key=True),
    Column("legal_name", String(300), nullable=False),
    Column("status", String(20), nullable=False),
    Column("record", JSONB, nullable=False),
    Column("record_updated_at", String(40), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

cost_centre = Table(
    "cost_centre",
    Base.metadata,
    Column("cost_center", String(100), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("record", JSONB, nullable=False),
    Column("record_updated_at", String(40), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""Read model of ``cost_centre.updated`` (the compacted ``backoffice.cost_centres``): the newest record wins."""

idempotency_record = idempotency_table(Base.metadata)


deferred_event = Table(
    "deferred_event",
    Base.metadata,
    Column("event_id", String(200), primary_key=True),
    Column("request_id", UUID(as_uuid=False), ForeignKey("purchase_request.id"), nullable=False, index=True),
    Column("envelope", JSONB, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("deferred_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""Another service's fact that arrived before the fact it follows (topics are not ordered among
themselves): kept and applied once the request has caught up."""
