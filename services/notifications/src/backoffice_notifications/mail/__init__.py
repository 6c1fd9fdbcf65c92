"""Adapter: email wording (Jinja2, en/de), rendering, and the SMTP transport."""
