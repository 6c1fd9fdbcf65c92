"""Exponential backoff with "equal jitter" (half fixed, half random) for deliveries."""

from __future__ import annotations

import random


def backoff_seconds(*, attempt: int, initial: float, maximum: float, rng: random.Random | None = None) -> float:
    """Delay before the attempt after ``attempt`` (1-based): uniform in [cap/2, cap], cap = initial * 2**(n-1)."""
    cap = min(maximum, initial * 2.0 ** max(0, attempt - 1))
    r: float = (rng or random).random()
    return cap / 2 + r * cap / 2


def is_final(*, attempts: int, max_attempts: int) -> bool:
    return attempts >= max_attempts
