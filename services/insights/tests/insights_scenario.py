"""Twenty orders with known delays: a slow approver, a vendor who answers late, a revision, an open and a cancelled request."""

from __future__ import annotations

from datetime import timedelta

from insights_testkit import BOB, CAROL, DAVE, SLOW_VENDOR, T0, VENDOR, Order, full_order, vendor_updated

from backoffice_common.events import CloudEvent

H = timedelta(hours=1)
AS_OF = "2027-04-01T00:00:00Z"


def orders() -> list[Order]:
    result = []
    for i in range(12):
        dept, category = ("ENG", "hardware") if i % 2 == 0 else ("OPS", "software")
        currency = "USD" if i == 0 else "EUR"
        order = Order(start=T0 + i * 3 * H, department=dept, category=category, currency=currency)
        result.append(full_order(order, approval=4 * H, vendor_answer=6 * H, delivery=12 * H))
    for i in range(3):  # Dave takes three days to decide
        order = Order(start=T0 + (40 + i) * H, department="OPS")
        result.append(full_order(order, approver=DAVE, approval=72 * H, vendor_answer=6 * H, delivery=12 * H))
    for i in range(2):  # the slow vendor answers after five days
        order = Order(start=T0 + (50 + i) * H, vendor_id=SLOW_VENDOR, category="furniture")
        result.append(full_order(order, approval=4 * H, vendor_answer=120 * H, delivery=12 * H))
    revised = Order(start=T0 + 60 * H).submit()  # sent back once, revised after a day
    task = revised.assign(BOB)
    revised.decide(task, BOB, "changes_requested", 2 * H).revise(24 * H)
    task = revised.assign(BOB)
    revised.decide(task, BOB, "approved", 2 * H).approve([BOB]).accept(6 * H)
    revised.sign("vendor", H).sign("buyer", H).execute().receive(revised.quantity, 12 * H).close(H)
    result.append(revised)
    waiting = Order(start=T0 + 70 * H).submit()  # still open: Dave has not decided, his delegate neither
    task = waiting.assign(DAVE)
    waiting.remind(task, DAVE, 24 * H).escalate(task, DAVE, CAROL, 24 * H)
    waiting.delivery_failed(H, attempts=5)
    result.append(waiting)
    cancelled = Order(start=T0 + 80 * H).submit()
    task = cancelled.assign(BOB)
    cancelled.cancel(2 * H).withdraw(task, BOB)
    result.append(cancelled)
    return result


def by_topic(all_orders: list[Order]) -> dict[str, list[CloudEvent]]:
    """Each topic's events in per-key order, as the services' relays publish them."""
    topics: dict[str, list[CloudEvent]] = {}
    for topic, event in [vendor_updated(VENDOR, "Acme Laptops"), vendor_updated(SLOW_VENDOR, "Slowpoke Furniture")]:
        topics.setdefault(topic, []).append(event)
    for order in all_orders:
        for topic, event in order.events:
            topics.setdefault(topic, []).append(event)
    return topics
