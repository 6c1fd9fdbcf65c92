"""repository of the checklists service."""
