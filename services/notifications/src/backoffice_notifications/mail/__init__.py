"""Email: templates (Jinja2, en/de) and the SMTP transport."""
