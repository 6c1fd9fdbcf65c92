"""Shared infrastructure for the back-office services. No domain logic lives here."""
