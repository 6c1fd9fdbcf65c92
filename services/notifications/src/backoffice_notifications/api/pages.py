"""HTML of the signed-link pages (order, contract, webhook secret retrieval): plain forms, no JavaScript,
in English or German.

A page whose link names a vendor is written in the vendor's language (its record); a page that knows no
vendor (an unknown or expired link) follows the reader's ``Accept-Language``. Amounts, quantities and dates
are formatted for that language with the email filters (Babel)."""

from __future__ import annotations

from typing import Any

from jinja2 import DictLoader, Environment, select_autoescape

from backoffice_notifications.mail.formats import FILTERS
from backoffice_notifications.mail.render import primary_language

LANGUAGES = ("en", "de")

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "purchase_order": "Purchase order",
        "item": "Item",
        "qty": "Qty",
        "unit_price": "Unit price",
        "amount": "Amount",
        "total": "Total",
        "needed_by": "needed by",
        "accept": "Accept",
        "expected_delivery": "Expected delivery",
        "note": "Note",
        "accept_button": "Accept the order",
        "decline": "Decline",
        "reason": "Reason",
        "decline_button": "Decline the order",
        "sign_title": "Sign the contract",
        "contract": "Contract",
        "for_order": "for purchase order",
        "document": "Document",
        "sha_you_sign": "SHA-256 of the document you sign",
        "your_name": "Your name",
        "your_email": "Your email",
        "confirm": "I have read the document with the SHA-256 above and sign it on behalf of",
        "sign_button": "Sign the contract",
        "not_possible": "Not possible",
        "link_used": "Link already used",
        "link_invalid": "Link not valid",
        "nothing_to_answer": "Nothing to answer",
        "no_longer_waits": "This order no longer waits for your answer.",
        "contract_not_found": "Contract not found",
        "contract_unknown": "The contract of this link is unknown.",
        "done": "Done",
        "signed": "Thank you: the contract is signed.",
        "accepted": "Thank you: the order is accepted.",
        "declined": "The order is declined.",
        "secret_title": "Your webhook signing secret",
        "secret_new_for": "A new webhook signing secret for",
        "secret_waits": "waits for you",
        "secret_id": "secret id",
        "secret_once_before": "It is shown",
        "secret_once": "once",
        "secret_once_after": ": after you reveal it, this link no longer works. Keep it in your system's secret "
        "store before you leave the page.",
        "reveal_button": "Reveal the secret",
        "secret_of": "The webhook signing secret of",
        "secret_not_again": "It will not be shown again. Sign your webhooks with it (Standard Webhooks) and verify "
        "ours with it.",
    },
    "de": {
        "purchase_order": "Bestellung",
        "item": "Artikel",
        "qty": "Menge",
        "unit_price": "Einzelpreis",
        "amount": "Betrag",
        "total": "Gesamt",
        "needed_by": "benötigt bis",
        "accept": "Annehmen",
        "expected_delivery": "Voraussichtliche Lieferung",
        "note": "Hinweis",
        "accept_button": "Bestellung annehmen",
        "decline": "Ablehnen",
        "reason": "Grund",
        "decline_button": "Bestellung ablehnen",
        "sign_title": "Vertrag unterschreiben",
        "contract": "Vertrag",
        "for_order": "zur Bestellung",
        "document": "Dokument",
        "sha_you_sign": "SHA-256 des Dokuments, das Sie unterschreiben",
        "your_name": "Ihr Name",
        "your_email": "Ihre E-Mail-Adresse",
        "confirm": "Ich habe das Dokument mit dem obigen SHA-256 gelesen und unterschreibe es im Namen von",
        "sign_button": "Vertrag unterschreiben",
        "not_possible": "Nicht möglich",
        "link_used": "Link bereits verwendet",
        "link_invalid": "Link ungültig",
        "nothing_to_answer": "Nichts zu beantworten",
        "no_longer_waits": "Diese Bestellung wartet nicht mehr auf Ihre Antwort.",
        "contract_not_found": "Vertrag nicht gefunden",
        "contract_unknown": "Der Vertrag dieses Links ist unbekannt.",
        "done": "Erledigt",
        "signed": "Vielen Dank: Der Vertrag ist unterschrieben.",
        "accepted": "Vielen Dank: Die Bestellung ist angenommen.",
        "declined": "Die Bestellung ist abgelehnt.",
        "secret_title": "Ihr Webhook-Signaturschlüssel",
        "secret_new_for": "Ein neuer Webhook-Signaturschlüssel für",
        "secret_waits": "liegt für Sie bereit",
        "secret_id": "Schlüssel-ID",
        "secret_once_before": "Er wird",
        "secret_once": "nur einmal",
        "secret_once_after": " angezeigt: Sobald Sie ihn anzeigen, funktioniert dieser Link nicht mehr. Legen Sie ihn "
        "im Secret-Store Ihres Systems ab, bevor Sie die Seite verlassen.",
        "reveal_button": "Schlüssel anzeigen",
        "secret_of": "Der Webhook-Signaturschlüssel von",
        "secret_not_again": "Er wird nicht noch einmal angezeigt. Signieren Sie Ihre Webhooks damit (Standard "
        "Webhooks) und prüfen Sie unsere damit.",
    },
}

_BASE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 2em auto">
<h1>{{ title }}</h1>
{% block content %}{% endblock %}
</body></html>
"""

_ORDER = """{% extends "base.html" %}{% block content %}
<p>{{ t.purchase_order }} <strong>{{ order.number }}</strong>: {{ order.title }}</p>
<table border="1" cellpadding="4"><tr><th>#</th><th>{{ t.item }}</th><th>{{ t.qty }}</th><th>{{ t.unit_price }}</th>
<th>{{ t.amount }}</th></tr>
{% for line in order.lines %}<tr><td>{{ line.line_no }}</td><td>{{ line.description }}</td>
<td>{{ line.quantity | number }} {{ line.unit }}</td><td>{{ line.unit_price | money(order.currency) }}</td>
<td>{{ line.amount | money(order.currency) }}</td></tr>
{% endfor %}</table>
<p>{{ t.total }}: <strong>{{ order.total | money(order.currency) }}</strong>
{%- if order.needed_by %}, {{ t.needed_by }} {{ order.needed_by | day }}{% endif %}</p>
<form method="post"><input type="hidden" name="action" value="accept">
<h2>{{ t.accept }}</h2>
<p><label>{{ t.expected_delivery }} <input type="date" name="expected_delivery"></label></p>
<p><label>{{ t.note }} <textarea name="note" maxlength="4000"></textarea></label></p>
<p><button type="submit">{{ t.accept_button }}</button></p></form>
<form method="post"><input type="hidden" name="action" value="decline">
<h2>{{ t.decline }}</h2>
<p><label>{{ t.reason }} <textarea name="reason" required maxlength="4000"></textarea></label></p>
<p><button type="submit">{{ t.decline_button }}</button></p></form>
{% endblock %}"""

_CONTRACT = """{% extends "base.html" %}{% block content %}
<p>{{ t.contract }} <strong>{{ contract.contract_id }}</strong> {{ t.for_order }} {{ number }}.</p>
<p>{{ t.document }}: <a href="{{ contract.document_url }}">{{ contract.document_url }}</a></p>
<p>{{ t.sha_you_sign }}: <code>{{ contract.document_sha256 }}</code></p>
<form method="post">
<input type="hidden" name="document_sha256" value="{{ contract.document_sha256 }}">
<p><label>{{ t.your_name }} <input name="signer_name" required maxlength="300"></label></p>
<p><label>{{ t.your_email }} <input type="email" name="signer_email" maxlength="320"></label></p>
<p><label><input type="checkbox" name="confirm" value="yes" required> {{ t.confirm }} {{ vendor_name }}.</label></p>
<p><button type="submit">{{ t.sign_button }}</button></p></form>
{% endblock %}"""

_RETRIEVAL_FORM = """{% extends "base.html" %}{% block content %}
<p>{{ t.secret_new_for }} <strong>{{ vendor_name }}</strong> {{ t.secret_waits }} ({{ t.secret_id }}
<code>{{ secret_id }}</code>).</p>
<p>{{ t.secret_once_before }} <strong>{{ t.secret_once }}</strong>{{ t.secret_once_after }}</p>
<form method="post"><p><button type="submit">{{ t.reveal_button }}</button></p></form>
{% endblock %}"""

_REVEALED = """{% extends "base.html" %}{% block content %}
<p>{{ t.secret_of }} <strong>{{ vendor_name }}</strong> ({{ t.secret_id }} <code>{{ secret_id }}</code>):</p>
<p><code id="secret">{{ secret }}</code></p>
<p>{{ t.secret_not_again }}</p>
{% endblock %}"""

_MESSAGE = """{% extends "base.html" %}{% block content %}<p>{{ message }}</p>{% endblock %}"""


def page_language(vendor_language: str | None, accept_language: str | None) -> str:
    """The vendor's language when the page knows the vendor, else the first supported one the reader's
    ``Accept-Language`` names (by quality), else English."""
    if vendor_language:
        lang = primary_language(vendor_language)
        return lang if lang in LANGUAGES else "en"
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        lang = primary_language(tag.strip()) if tag.strip() and tag.strip() != "*" else ""
        if lang in LANGUAGES and quality > 0:
            ranked.append((-quality, position, lang))
    return min(ranked)[2] if ranked else "en"


def _environment() -> Environment:
    env = Environment(
        loader=DictLoader(
            {
                "base.html": _BASE,
                "order.html": _ORDER,
                "contract.html": _CONTRACT,
                "message.html": _MESSAGE,
                "secret_form.html": _RETRIEVAL_FORM,
                "secret.html": _REVEALED,
            }
        ),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    env.filters.update(FILTERS)
    return env


_ENV = _environment()


def text(lang: str, key: str) -> str:
    """One wording of the pages in ``lang`` (English when the language has none)."""
    return TEXT[lang if lang in TEXT else "en"][key]


def page(name: str, *, lang: str = "en", **context: Any) -> str:
    lang = lang if lang in LANGUAGES else "en"
    return _ENV.get_template(f"{name}.html").render(lang=lang, t=TEXT[lang], _locale=lang, **context)
