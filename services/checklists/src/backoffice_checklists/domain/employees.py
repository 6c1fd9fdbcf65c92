"""The employee a checklist is for, as the HR system describes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from backoffice_checklists.domain.templates import Language


@dataclass(frozen=True)
class Employee:
    id: str
    name: str
    language: Language
    start_date: date
    email: str = ""
    department: str | None = None
    location: str | None = None
    employment_type: str | None = None
    manager_id: str | None = None
    manager_email: str = ""
    last_day: date | None = None

    @property
    def facts(self) -> dict[str, str | None]:
        """What template conditions test."""
        return {"department": self.department, "location": self.location, "employment_type": self.employment_type}

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "language": self.language,
            "department": self.department,
            "location": self.location,
            "employment_type": self.employment_type,
            "manager_id": self.manager_id,
            "manager_email": self.manager_email,
            "start_date": self.start_date.isoformat(),
            "last_day": self.last_day.isoformat() if self.last_day else None,
        }
