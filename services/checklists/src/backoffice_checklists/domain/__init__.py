"""domain of the checklists service."""
