"""Server-side sessions: the browser holds only a random id in an HttpOnly, SameSite cookie.

The store is in memory (the console has no database): sessions end when the process restarts and
are not shared between replicas, so more than one replica needs sticky sessions (or a shared
store behind the same interface). Tokens never leave the server.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

COOKIE = "bo_session"


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


class SessionStore:
    def __init__(self, *, idle_seconds: int, max_seconds: int, max_sessions: int) -> None:
        self._sessions: dict[str, Session] = {}
        self._idle = idle_seconds
        self._max = max_seconds
        self._limit = max_sessions

    def __len__(self) -> int:
        return len(self._sessions)

    def new(self) -> Session:
        self._expire()
        if len(self._sessions) >= self._limit:
            oldest = min(self._sessions.values(), key=lambda s: s.seen)
            self._sessions.pop(oldest.id, None)
        now = time.time()
        session = Session(id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32), created=now, seen=now)
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = time.time()
        if now - session.seen > self._idle or now - session.created > self._max:
            self._sessions.pop(session_id, None)
            return None
        session.seen = now
        return session

    def drop(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def _expire(self) -> None:
        now = time.time()
        for sid in [s.id for s in self._sessions.values() if now - s.seen > self._idle or now - s.created > self._max]:
            self._sessions.pop(sid, None)
