from pathlib import Path

from backoffice_common.cli import Command, main
from backoffice_requests import archive_audit, archive_timeline
from backoffice_requests.settings import Settings

if __name__ == "__main__":
    main(
        app_path="backoffice_requests.main:create_app",
        settings_factory=Settings,
        migrations=Path(__file__).parent / "migrations",
        default_port=8001,
        commands={
            "archive-timeline": Command(archive_timeline.add_arguments, archive_timeline.run),
            "archive-audit": Command(archive_audit.add_arguments, archive_audit.run),
        },
    )
