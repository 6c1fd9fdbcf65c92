from pathlib import Path

from backoffice_checklists.settings import Settings
from backoffice_common.audit_archive_service import archive_audit_command
from backoffice_common.cli import main

if __name__ == "__main__":
    main(
        app_path="backoffice_checklists.main:create_app",
        settings_factory=Settings,
        migrations=Path(__file__).parent / "migrations",
        default_port=8009,
        commands={"archive-audit": archive_audit_command("checklists")},
    )
