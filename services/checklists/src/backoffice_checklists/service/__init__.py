"""service of the checklists service."""
