"""api of the checklists service."""
