"""Tables of the approvals service."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from backoffice_common.db import new_metadata
from backoffice_common.messaging import messaging_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


messaging = messaging_tables(Base.metadata)
