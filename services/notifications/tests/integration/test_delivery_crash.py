"""A delivery worker killed mid-send re-sends at most one email after its restart (the one the SMTP
server accepted but the worker had not recorded yet), with the same Message-ID."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from notifications_testkit import MIGRATIONS, free_port, make_settings

from backoffice_common.db import make_engine, make_session_factory
from backoffice_common.events import new_event
from backoffice_common.testing import private_database, unique_prefix
from backoffice_notifications.domain.deliveries import SENT
from backoffice_notifications.models import messaging
from backoffice_notifications.service import deliveries
from backoffice_notifications.service.deliveries import Cause, Target
from backoffice_notifications.service.uow import NotificationsUnitOfWork

HERE = Path(__file__).parent
MAILSINK = HERE.parents[3] / "deploy" / "mailsink.py"
EMAILS = 8
KILL_AT = 4


def _mailsink() -> Any:
    spec = importlib.util.spec_from_file_location("mailsink", MAILSINK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _worker(settings_json: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(HERE / "delivery_worker_process.py"), settings_json])


async def test_a_worker_killed_after_the_smtp_server_accepted_a_mail_sends_only_that_mail_again(tmp_path: Path) -> None:
    sink = _mailsink()
    store = sink.Store(tmp_path / "mail")
    worker: dict[str, subprocess.Popen[bytes]] = {}

    class KillingHandler(sink.SmtpHandler):  # type: ignore[misc, name-defined]
        """The real sink, which kills the worker once it stored the KILL_AT-th mail, before answering it."""

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            answer: str = await super().handle_DATA(server, session, envelope)
            if len(store.ids()) == KILL_AT and "first" in worker:
                os.kill(worker["first"].pid, signal.SIGKILL)
                worker["first"].wait(timeout=30)
            return answer

    port = free_port()
    controller = Controller(
        KillingHandler(store), hostname="127.0.0.1", port=port, decode_data=False, server_hostname="mailsink.local"
    )
    controller.start()
    recipient = f"crash-{uuid.uuid4().hex[:8]}@example.test"
    try:
        async with private_database(MIGRATIONS) as url:
            settings = make_settings(url, unique_prefix(), smtp_port=port, delivery_batch_size=20)
            engine = make_engine(url)
            factory = make_session_factory(engine)

            def uow() -> NotificationsUnitOfWork:
                return NotificationsUnitOfWork(factory, tables=messaging, service="notifications")

            async with uow() as u:
                for n in range(EMAILS):
                    cause = new_event(type="approval.reminder_due", service="test", subject=str(n), data={})
                    await deliveries.email(
                        u,
                        cause=Cause.of(cause),
                        template="task_reminder",
                        language="en",
                        recipient=recipient,
                        context={"assignee": {"name": f"Approver {n}"}, "due_at": "2027-01-01", "task_url": "x"},
                        target=Target(None),
                    )
                await u.commit()
            settings_json = settings.model_dump_json()

            worker["first"] = _worker(settings_json)
            assert worker["first"].wait(timeout=60) == -signal.SIGKILL
            async with uow() as u:
                rows = await u.deliveries.page(request_id=None, status=None, limit=100)
            assert Counter(d.status for d in rows) == {SENT: KILL_AT - 1, "pending": EMAILS - KILL_AT + 1}

            restarted = _worker(settings_json)
            assert restarted.wait(timeout=60) == 0
            async with uow() as u:
                rows = await u.deliveries.page(request_id=None, status=None, limit=100)
            await engine.dispose()
    finally:
        controller.stop()

    assert [d.status for d in rows] == [SENT] * EMAILS
    messages = [message_from_bytes(store.raw(mid), policy=default_policy) for mid in store.ids()]
    ids = Counter(str(m["Message-ID"]) for m in messages)
    assert len(ids) == EMAILS, "every delivery reached the server"
    assert len(messages) == EMAILS + 1, "only the mail accepted at the moment of the crash went out twice"
    [(repeated, twice)] = [(mid, n) for mid, n in ids.items() if n > 1]
    assert twice == 2
    assert str(messages[KILL_AT - 1]["Message-ID"]) == repeated, "the repeat is the mail in flight, same Message-ID"
