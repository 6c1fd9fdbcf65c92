from pathlib import Path

from backoffice_common.cli import main
from backoffice_insights.settings import Settings

if __name__ == "__main__":
    main(
        app_path="backoffice_insights.main:create_app",
        settings_factory=Settings,
        migrations=Path(__file__).parent / "migrations",
        default_port=8008,
    )
