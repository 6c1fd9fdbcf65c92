"""HTML of the signed-link pages: plain forms, no JavaScript."""

from __future__ import annotations

from typing import Any

from jinja2 import DictLoader, Environment, select_autoescape

_BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 2em auto">
<h1>{{ title }}</h1>
{% block content %}{% endblock %}
</body></html>
"""

_ORDER = """{% extends "base.html" %}{% block content %}
<p>Purchase order <strong>{{ order.number }}</strong>: {{ order.title }}</p>
<table border="1" cellpadding="4"><tr><th>#</th><th>Item</th><th>Qty</th><th>Unit price</th><th>Amount</th></tr>
{% for line in order.lines %}<tr><td>{{ line.line_no }}</td><td>{{ line.description }}</td>
<td>{{ line.quantity }} {{ line.unit }}</td><td>{{ line.unit_price }}</td><td>{{ line.amount }}</td></tr>
{% endfor %}</table>
<p>Total: <strong>{{ order.total }} {{ order.currency }}</strong>, needed by {{ order.needed_by }}</p>
<form method="post"><input type="hidden" name="action" value="accept">
<h2>Accept</h2>
<p><label>Expected delivery <input type="date" name="expected_delivery"></label></p>
<p><label>Note <textarea name="note" maxlength="4000"></textarea></label></p>
<p><button type="submit">Accept the order</button></p></form>
<form method="post"><input type="hidden" name="action" value="decline">
<h2>Decline</h2>
<p><label>Reason <textarea name="reason" required maxlength="4000"></textarea></label></p>
<p><button type="submit">Decline the order</button></p></form>
{% endblock %}"""

_CONTRACT = """{% extends "base.html" %}{% block content %}
<p>Contract <strong>{{ contract.contract_id }}</strong> for purchase order {{ number }}.</p>
<p>Document: <a href="{{ contract.document_url }}">{{ contract.document_url }}</a></p>
<p>SHA-256 of the document you sign: <code>{{ contract.document_sha256 }}</code></p>
<form method="post">
<input type="hidden" name="document_sha256" value="{{ contract.document_sha256 }}">
<p><label>Your name <input name="signer_name" required maxlength="300"></label></p>
<p><label>Your email <input type="email" name="signer_email" maxlength="320"></label></p>
<p><label><input type="checkbox" name="confirm" value="yes" required> I have read the document with the
SHA-256 above and sign it on behalf of {{ vendor_name }}.</label></p>
<p><button type="submit">Sign the contract</button></p></form>
{% endblock %}"""

_RETRIEVAL_FORM = """{% extends "base.html" %}{% block content %}
<p>A new webhook signing secret for <strong>{{ vendor_name }}</strong> waits for you (secret id
<code>{{ secret_id }}</code>).</p>
<p>It is shown <strong>once</strong>: after you reveal it, this link no longer works. Keep it in your
system's secret store before you leave the page.</p>
<form method="post"><p><button type="submit">Reveal the secret</button></p></form>
{% endblock %}"""

_REVEALED = """{% extends "base.html" %}{% block content %}
<p>The webhook signing secret of <strong>{{ vendor_name }}</strong> (secret id <code>{{ secret_id }}</code>):</p>
<p><code id="secret">{{ secret }}</code></p>
<p>It will not be shown again. Sign your webhooks with it (Standard Webhooks) and verify ours with it.</p>
{% endblock %}"""

_MESSAGE = """{% extends "base.html" %}{% block content %}<p>{{ message }}</p>{% endblock %}"""

_ENV = Environment(
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


def page(name: str, **context: Any) -> str:
    return _ENV.get_template(f"{name}.html").render(**context)
