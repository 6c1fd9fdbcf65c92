"""What handlers, routes and jobs share: settings and the sealing identity (loaded once)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from backoffice_contracts.pki import SealingIdentity, load_identity
from backoffice_contracts.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    _identity: SealingIdentity | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def identity(self) -> SealingIdentity:
        with self._lock:
            if self._identity is None:
                self._identity = load_identity(self.settings)
            return self._identity
