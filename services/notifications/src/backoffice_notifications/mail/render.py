"""Renders an email (subject, text, HTML) from the catalog with Jinja2."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from jinja2 import DictLoader, Environment, StrictUndefined, select_autoescape

from backoffice_notifications.mail.catalog import CATALOG
from backoffice_notifications.mail.formats import FILTERS

LANGUAGES = ("en", "de")
_URL = re.compile(r"(https?://[^\s<]+)")

_LAYOUT = """<!doctype html>
<html lang="{{ language }}"><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family: sans-serif">
{% for paragraph in paragraphs %}<p>{{ paragraph | linkify }}</p>
{% endfor %}</body></html>
"""


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str
    language: str


def _linkify(value: str) -> Any:
    from markupsafe import Markup, escape

    escaped = str(escape(value))
    linked = _URL.sub(lambda m: f'<a href="{m.group(1)}">{m.group(1)}</a>', escaped)
    return Markup(linked.replace("\n", "<br>\n"))  # noqa: S704 - built from escaped text


def _environment() -> Environment:
    templates = {"layout.html": _LAYOUT}
    for name, languages in CATALOG.items():
        for language, (subject, body) in languages.items():
            templates[f"{name}.{language}.subject"] = subject
            templates[f"{name}.{language}.txt"] = body
    env = Environment(
        loader=DictLoader(templates),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["linkify"] = _linkify
    env.filters.update(FILTERS)
    return env


_ENV = _environment()


def primary_language(tag: str | None) -> str:
    """The primary subtag of a BCP 47 tag, lower case: ``de-AT`` -> ``de``; ``en`` for none."""
    return (tag or "en").replace("_", "-").split("-", 1)[0].strip().lower() or "en"


def render(template: str, language: str, context: dict[str, Any]) -> RenderedMail:
    """Falls back to English where a template has no translation."""
    if template not in CATALOG:
        raise KeyError(f"unknown email template {template!r}")
    lang = primary_language(language)
    lang = lang if lang in CATALOG[template] else "en"
    context = {**context, "_locale": lang}
    subject = " ".join(_ENV.get_template(f"{template}.{lang}.subject").render(**context).split())
    text = _ENV.get_template(f"{template}.{lang}.txt").render(**context).strip() + "\n"
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    html = _ENV.get_template("layout.html").render(language=lang, subject=subject, paragraphs=paragraphs)
    return RenderedMail(subject=subject, text=text, html=html, language=lang)
