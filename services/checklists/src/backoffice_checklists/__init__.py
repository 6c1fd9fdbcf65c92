"""Onboarding and offboarding checklists."""
