from pathlib import Path

from backoffice_common.cli import main
from backoffice_notifications.settings import Settings

if __name__ == "__main__":
    main(
        app_path="backoffice_notifications.main:create_app",
        settings_factory=Settings,
        migrations=Path(__file__).parent / "migrations",
        default_port=8003,
    )
