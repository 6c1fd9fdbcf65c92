from pathlib import Path

from backoffice_common.audit_archive_service import archive_audit_command
from backoffice_common.cli import Command, main
from backoffice_contracts import move_documents
from backoffice_contracts.settings import Settings

if __name__ == "__main__":
    main(
        app_path="backoffice_contracts.main:create_app",
        settings_factory=Settings,
        migrations=Path(__file__).parent / "migrations",
        default_port=8004,
        commands={
            "move-documents": Command(move_documents.add_arguments, move_documents.run),
            "archive-audit": archive_audit_command("contracts"),
        },
    )
