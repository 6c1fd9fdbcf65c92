"""Spend figures in the reporting currency, from amounts per group, month, kind and currency."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

CENT = Decimal("0.01")


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_EVEN))


def in_reporting_currency(rows: list[dict[str, Any]]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Committed and received per (group, month), plus what could not be converted (no rate)."""
    totals: dict[tuple[str, str], dict[str, Decimal]] = {}
    unconverted: list[dict[str, str]] = []
    for row in rows:
        key = (row["group"], row["month"])
        bucket = totals.setdefault(key, {"committed": Decimal(0), "received": Decimal(0)})
        if row["converted"]:
            bucket[row["kind"]] += Decimal(row["reporting_amount"])
        else:
            unconverted.append(
                {
                    "group": key[0],
                    "month": key[1],
                    "kind": row["kind"],
                    "currency": row["currency"],
                    "amount": money(Decimal(row["amount"])),
                }
            )
    result = [
        {"group": g, "month": m, "committed": money(v["committed"]), "received": money(v["received"])}
        for (g, m), v in sorted(totals.items())
    ]
    return result, unconverted
