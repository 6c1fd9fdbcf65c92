"""Async SQLAlchemy engine, session factory and the naming conventions every service uses."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(
    database_url: str, *, pool_size: int = 10, server_settings: Mapping[str, str] | None = None
) -> AsyncEngine:
    """``server_settings``: PostgreSQL session settings for every connection (TCP keepalives)."""
    return create_async_engine(
        database_url,
        connect_args={"server_settings": dict(server_settings)} if server_settings else {},
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


def asyncpg_dsn(database_url: str, *, server_settings: Mapping[str, str] | None = None) -> str:
    """The same URL in the form asyncpg.connect() accepts (no ``+asyncpg`` driver suffix).

    ``server_settings`` become query parameters, which asyncpg sends as session settings.
    """
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    if server_settings:
        dsn += ("&" if "?" in dsn else "?") + urlencode(dict(server_settings))
    return dsn
