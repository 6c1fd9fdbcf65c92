"""The faults of a chaos run, drawn from a fixed seed so a run can be repeated.

Times are seconds after the first order. The infrastructure faults come one after the other, in
this order, spread over the arrival window of the orders: a broker killed and started again, an
immediate PostgreSQL restart, an SMTP server outage, a second broker killed for good (the bounced
one is back by then, so two of three brokers stay). All along, a random service instance is killed
with SIGKILL every few seconds and started again after a short while.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from cluster import INSTANCES, SERVICES

KILL_SERVICE = "kill-service"
BOUNCE_BROKER = "bounce-broker"
LOSE_BROKER = "lose-broker"
RESTART_POSTGRES = "restart-postgres"
SMTP_OUTAGE = "smtp-outage"
INFRASTRUCTURE = (BOUNCE_BROKER, RESTART_POSTGRES, SMTP_OUTAGE, LOSE_BROKER)


@dataclass(frozen=True)
class Fault:
    at: float
    kind: str
    target: str
    down_for: float = 0.0

    def __str__(self) -> str:
        down = f", back after {self.down_for:.1f} s" if self.down_for else ""
        return f"t+{self.at:6.1f} s  {self.kind:<16} {self.target}{down}"


def plan(
    seed: int,
    *,
    window: float,
    kill_every: tuple[float, float] = (8.0, 15.0),
    down_for: tuple[float, float] = (1.0, 4.0),
    horizon: float = 3600.0,
) -> list[Fault]:
    """Every fault up to ``horizon`` seconds; the run stops killing once the last order is done."""
    rng = random.Random(seed)
    bounced, lost = rng.sample([1, 2, 3], 2)
    faults = [
        Fault(0.15 * window, BOUNCE_BROKER, f"broker {bounced}", 10.0),
        Fault(0.35 * window, RESTART_POSTGRES, "postgres"),
        Fault(0.50 * window, SMTP_OUTAGE, "smtp", 15.0),
        Fault(0.70 * window, LOSE_BROKER, f"broker {lost}"),
    ]
    at = rng.uniform(*kill_every) / 2
    while at < horizon:
        target = f"{rng.choice(SERVICES)}#{rng.randint(1, INSTANCES)}"
        faults.append(Fault(at, KILL_SERVICE, target, rng.uniform(*down_for)))
        at += rng.uniform(*kill_every)
    return sorted(faults, key=lambda f: f.at)
