"""Pydantic API models of the budgets service: XCreate / XUpdate / XRead."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from backoffice_common.strings import SafeText

Id = Annotated[str, SafeText(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Name = Annotated[str, SafeText(min_length=1, max_length=200, strip=True)]
Amount = Annotated[str, Field(pattern=r"^\d{1,15}(\.\d{1,6})?$", examples=["25000.00"], description="decimal string")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])]
Period = Annotated[str, Field(pattern=r"^\d{4}(-(\d{2}|Q[1-4]))?$", examples=["2026-11", "2026-Q4", "2026"])]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Person(Strict):
    id: Annotated[str, SafeText(min_length=1, max_length=200)]
    name: Annotated[str, SafeText(max_length=200)] = ""
    email: Annotated[str, SafeText(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]


class CostCentreUpdate(Strict):
    name: Name
    owner: Person
    department: Annotated[str, SafeText(min_length=1, max_length=100, strip=True)]
    active: bool = True


class CostCentreCreate(Strict):
    id: Id
    name: Name
    owner: Person
    department: Annotated[str, SafeText(min_length=1, max_length=100, strip=True)]


class CostCentreRead(BaseModel):
    id: str
    name: str
    owner: dict[str, str]
    department: str
    active: bool
    updated_at: datetime


class BudgetCreate(Strict):
    cost_center: Id
    period: Period
    currency: Currency
    amount: Amount


class BalancesRead(BaseModel):
    budget: str
    reserved: str
    committed: str
    spent: str
    available: str
    utilisation_percent: str | None = Field(description="used / budget in percent; null when the budget is 0")


class BudgetRead(BaseModel):
    id: str
    cost_center: str
    cost_center_name: str
    department: str
    owner: dict[str, str]
    period: str
    period_kind: Literal["month", "quarter", "year"]
    period_start: date
    period_end: date = Field(description="exclusive: the first day after the period")
    currency: str
    status: Literal["open", "closed"]
    balances: BalancesRead
    created_at: datetime
    closed_at: datetime | None


class BudgetPage(BaseModel):
    items: list[BudgetRead]
    next_cursor: str | None


class FxRead(BaseModel):
    from_currency: str
    to_currency: str
    rate: str
    rate_date: date | None


class CausedBy(BaseModel):
    event_id: str
    event_type: str


class MovementRead(BaseModel):
    seq: int
    id: str
    budget_id: str
    kind: str
    amount: str
    reserved_delta: str
    committed_delta: str
    spent_delta: str
    budget_delta: str
    balances: BalancesRead
    request_id: str | None
    revision: int | None
    caused_by: CausedBy
    occurred_at: datetime
    recorded_at: datetime
    source_amount: str | None
    fx: FxRead | None
    reason: str


class LedgerPage(BaseModel):
    items: list[MovementRead]
    next_cursor: str | None


class HeldBackRead(BaseModel):
    seq: int
    request_id: str
    revision: int | None
    event_id: str
    event_type: str
    waiting_for: str
    received_at: datetime


class HeldBackPage(BaseModel):
    items: list[HeldBackRead]
    next_cursor: str | None


class TransferCreate(Strict):
    from_budget_id: UUID
    to_budget_id: UUID
    amount: Amount
    reason: Annotated[str, SafeText(min_length=1, max_length=500, strip=True)]


class TransferRead(BaseModel):
    id: str
    from_budget_id: str
    to_budget_id: str
    amount: str
    currency: str
    reason: str
    actor_id: str
    created_at: datetime


class RatesLoaded(BaseModel):
    days: int
    rates: int
    first_day: date
    last_day: date
    currencies: list[str]


class RateRead(BaseModel):
    currency: str
    rate_date: date
    per_eur: str = Field(description="units of the currency one euro buys (ECB reference rate)")


class Availability(BaseModel):
    cost_center: str
    on: date
    budget: BudgetRead | None = Field(description="the budget whose period contains the day; null when there is none")


class CheckRead(BaseModel):
    model_config = ConfigDict(extra="allow")

    request_id: str
    revision: int
    status: Literal["within_budget", "over_budget", "no_budget"]
    reason: str
    cost_center: str
    budget_id: str | None
    amount: str | None
    over_by: str | None
    event_id: str
    checked_at: datetime
    fx: dict[str, Any] | None
