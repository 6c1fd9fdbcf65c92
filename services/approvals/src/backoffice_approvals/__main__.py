from pathlib import Path

from backoffice_approvals.settings import Settings
from backoffice_common.audit_archive_service import archive_audit_command
from backoffice_common.cli import main

if __name__ == "__main__":
    main(
        app_path="backoffice_approvals.main:create_app",
        settings_factory=Settings,
        migrations=Path(__file__).parent / "migrations",
        default_port=8002,
        commands={"archive-audit": archive_audit_command("approvals")},
    )
