"""What every repository holds: the unit of work's session and its ``track``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

Track = Callable[[Any], None]


class Repository:
    def __init__(self, session: AsyncSession, track: Track) -> None:
        self.session = session
        self.track = track
