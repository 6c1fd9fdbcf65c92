"""Server-side sessions: the browser holds only a random id in an HttpOnly, SameSite cookie.

Without ``CONSOLE_DATABASE_URL`` the store is in memory: sessions end when the process restarts and
are not shared between replicas. With it, every request reads its session from the console's own
PostgreSQL database (``SessionDatabase``) and writes back what changed when it ends: sessions then
survive a restart and work across replicas, and a sign-out on one replica ends the session on all.
Rows are keyed by the SHA-256 of the session id (the database never holds a usable cookie) and the
tokens are encrypted with Fernet (``CONSOLE_SESSION_ENCRYPTION_KEY``; rows of the previous keys of a
rotation, ``CONSOLE_SESSION_ENCRYPTION_PREVIOUS_KEYS``, are still read and are written back under the
current key). Tokens never leave the server.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from backoffice_common.health import expected_schema_heads
from backoffice_console.models import console_session

COOKIE = "bo_session"
FLASH_LIMIT = 10
"""Messages a session keeps for pages not visited yet (the oldest goes first)."""


@dataclass
class Session:
    id: str
    csrf: str
    created: float
    seen: float
    tokens: dict[str, Any] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=dict)
    locale: str | None = None
    login: dict[str, str] = field(default_factory=dict)
    """The state, nonce, PKCE verifier and target of a sign-in under way."""
    flash: dict[str, Any] = field(default_factory=dict)
    """What a form's POST left for the page it redirects to (post-redirect-get), by name: shown once."""

    @property
    def signed_in(self) -> bool:
        return bool(self.tokens.get("access_token"))

    @property
    def roles(self) -> frozenset[str]:
        roles = self.claims.get("roles", [])
        return frozenset(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else frozenset()

    @property
    def user_id(self) -> str:
        return str(self.claims.get("sub", ""))

    @property
    def name(self) -> str:
        return str(self.claims.get("name") or self.claims.get("preferred_username") or self.user_id)

    def leave(self, name: str, value: Any) -> None:
        """Leaves ``value`` (JSON) for the next page that takes ``name``; at most ``FLASH_LIMIT`` wait."""
        self.flash.pop(name, None)
        self.flash[name] = value
        while len(self.flash) > FLASH_LIMIT:
            self.flash.pop(next(iter(self.flash)))

    def take(self, name: str) -> Any:
        """What was left under ``name``, once (None when nothing waits)."""
        return self.flash.pop(name, None)

    def state(self) -> dict[str, Any]:
        """What is stored (everything but the id and the times, which are columns)."""
        found = asdict(self)
        for name in ("id", "created", "seen"):
            found.pop(name)
        return found


def key_of(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionDatabase:
    """The console's own PostgreSQL table of sessions (SQLAlchemy async; ``migrate`` creates it)."""

    def __init__(self, url: str, encryption_key: str, previous_keys: Sequence[str] = ()) -> None:
        self.engine: AsyncEngine = create_async_engine(url, pool_size=5, max_overflow=5, pool_pre_ping=True)
        # Encrypts with the first key, decrypts with any: a key rotation signs nobody out.
        self.fernet = MultiFernet([Fernet(key.encode()) for key in (encryption_key, *previous_keys)])

    async def get(self, session_id: str) -> Session | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(console_session.c.data, console_session.c.created_at, console_session.c.seen_at).where(
                        console_session.c.key == key_of(session_id)
                    )
                )
            ).first()
        if row is None:
            return None
        try:
            state = json.loads(self.fernet.decrypt(row.data))
        except (InvalidToken, ValueError):
            return None  # a key no longer configured: the user signs in again
        return Session(id=session_id, created=row.created_at.timestamp(), seen=row.seen_at.timestamp(), **state)

    async def put(self, session: Session, expires: float) -> None:
        values = {
            "data": self.fernet.encrypt(json.dumps(session.state()).encode()),
            "seen_at": _at(session.seen),
            "expires_at": _at(expires),
        }
        statement = insert(console_session).values(key=key_of(session.id), created_at=_at(session.created), **values)
        statement = statement.on_conflict_do_update(index_elements=[console_session.c.key], set_=values)
        async with self.engine.begin() as conn:
            await conn.execute(statement)

    async def touch(self, session: Session, expires: float) -> None:
        """Moves ``seen`` (and the expiry) without writing the content."""
        values = {"seen_at": _at(session.seen), "expires_at": _at(expires)}
        async with self.engine.begin() as conn:
            await conn.execute(
                update(console_session).where(console_session.c.key == key_of(session.id)).values(**values)
            )

    async def delete(self, session_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(console_session).where(console_session.c.key == key_of(session_id)))

    async def purge(self, now: float) -> int:
        """Deletes expired sessions; answers how many."""
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(console_session).where(console_session.c.expires_at < _at(now)))
        return int(getattr(result, "rowcount", 0) or 0)

    async def count(self) -> int:
        from sqlalchemy import func

        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(console_session))).scalar_one())

    async def schema_problem(self) -> str | None:
        """Why the session table is not at the revision this release ships, or None when it is.

        ``/readyz`` answers 503 with it: a new pod stays out of the Service until its release's
        migration Job (``python -m backoffice_console migrate``) has run.
        """
        expected = expected_schema_heads("console")
        if expected is None:
            return None
        try:
            async with self.engine.connect() as conn:
                current = frozenset((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())
        except SQLAlchemyError as exc:
            return f"no schema revision ({type(exc).__name__}): run the migration"
        if current != expected:
            return f"schema revision {sorted(current)}, this release expects {sorted(expected)}: run the migration"
        return None

    async def close(self) -> None:
        await self.engine.dispose()


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass
class _Loaded:
    session: Session | None
    """None: dropped by this request."""
    before: str
    """The stored state as loaded ("" for a session this request created)."""


_request: contextvars.ContextVar[dict[str, _Loaded] | None] = contextvars.ContextVar("console_sessions", default=None)
"""With a database, the sessions of the request under way (each request its own copies)."""


class SessionStore:
    """Sessions by id: in memory, or, with a ``database``, loaded per request and written back after it."""

    def __init__(
        self,
        *,
        idle_seconds: int,
        max_seconds: int,
        max_sessions: int,
        database: SessionDatabase | None = None,
        seen_resolution: float = 60.0,
    ) -> None:
        self._sessions: dict[str, Session] = {}
        self._idle = idle_seconds
        self._max = max_seconds
        self._limit = max_sessions
        self.database = database
        self._seen_resolution = seen_resolution
        self._last_purge = 0.0

    def __len__(self) -> int:
        return len(self._sessions)

    def _expired(self, session: Session, now: float) -> bool:
        return now - session.seen > self._idle or now - session.created > self._max

    def _expires(self, session: Session) -> float:
        return min(session.seen + self._idle, session.created + self._max)

    def _current(self) -> dict[str, _Loaded]:
        found = _request.get()
        if found is None:
            raise RuntimeError("a database-backed session store is used outside a request (SessionStore.begin)")
        return found

    def new(self) -> Session:
        now = time.time()
        session = Session(id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32), created=now, seen=now)
        if self.database is not None:
            self._current()[session.id] = _Loaded(session, "")
            return session
        self._expire()
        if len(self._sessions) >= self._limit:
            oldest = min(self._sessions.values(), key=lambda s: s.seen)
            self._sessions.pop(oldest.id, None)
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        if self.database is not None:
            entry = _request.get() or {}
            session = entry[session_id].session if session_id in entry else None
        else:
            session = self._sessions.get(session_id)
        if session is None:
            return None
        now = time.time()
        if self._expired(session, now):
            self.drop(session_id)
            return None
        session.seen = now
        return session

    def drop(self, session_id: str) -> None:
        if self.database is not None:
            self._current()[session_id] = _Loaded(None, "-")
        else:
            self._sessions.pop(session_id, None)

    def _expire(self) -> None:
        now = time.time()
        for sid in [s.id for s in self._sessions.values() if self._expired(s, now)]:
            self._sessions.pop(sid, None)

    # ---- per request (a no-op in memory) ----

    def begin(self) -> dict[str, _Loaded]:
        """At the start of a request: what it loads, creates or drops is written back by ``end``."""
        loaded: dict[str, _Loaded] = {}
        _request.set(loaded)
        return loaded

    async def load(self, session_id: str | None) -> Session | None:
        """The request's session; with a database read from it (so a sign-out elsewhere counts at once)."""
        if self.database is None or not session_id:
            return self.get(session_id)
        found = await self.database.get(session_id)
        if found is None:
            return None
        self._current()[session_id] = _Loaded(found, _snapshot(found))
        return self.get(session_id)

    async def end(self, loaded: dict[str, _Loaded]) -> None:
        """Writes back the sessions the request created or changed, deletes the dropped and expired ones."""
        if self.database is None:
            return
        now = time.time()
        for session_id, entry in loaded.items():
            session = entry.session
            if session is None:
                await self.database.delete(session_id)
                continue
            if entry.before:
                old_state, old_seen = json.loads(entry.before)
                if old_state == json.loads(_snapshot(session))[0]:
                    # only "seen" moved: at most once per resolution, and never the content, so a
                    # request that changed nothing cannot overwrite tokens another one refreshed
                    if abs(session.seen - old_seen) >= self._seen_resolution:
                        await self.database.touch(session, self._expires(session))
                    continue
            await self.database.put(session, self._expires(session))
        if now - self._last_purge > 300:
            self._last_purge = now
            await self.database.purge(now)

    async def count(self) -> int:
        return await self.database.count() if self.database is not None else len(self._sessions)


def _snapshot(session: Session) -> str:
    return json.dumps([session.state(), session.seen], sort_keys=True)
