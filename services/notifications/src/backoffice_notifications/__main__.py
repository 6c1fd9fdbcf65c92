import asyncio
import sys
from pathlib import Path

from backoffice_common.audit_archive_service import archive_audit_command
from backoffice_common.cli import main
from backoffice_common.db import make_engine, make_session_factory
from backoffice_notifications.models import messaging
from backoffice_notifications.service.secrets import reencrypt
from backoffice_notifications.service.uow import NotificationsUnitOfWork
from backoffice_notifications.settings import Settings


async def reencrypt_secrets(settings: Settings) -> int:
    """After an encryption-key rotation: every stored vendor secret under the current key, in one transaction."""
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        uow = NotificationsUnitOfWork(
            make_session_factory(engine),
            tables=messaging,
            service=settings.service_name,
            topic_prefix=settings.kafka_topic_prefix,
        )
        async with uow:
            changed = await reencrypt(uow, settings=settings)
            await uow.commit()
    finally:
        await engine.dispose()
    print(f"re-encrypted {changed} vendor secret(s) with the current key")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["reencrypt-secrets"]:
        raise SystemExit(asyncio.run(reencrypt_secrets(Settings())))
    main(
        app_path="backoffice_notifications.main:create_app",
        settings_factory=Settings,
        migrations=Path(__file__).parent / "migrations",
        default_port=8003,
        commands={"archive-audit": archive_audit_command("notifications")},
    )
