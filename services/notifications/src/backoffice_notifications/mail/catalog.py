"""Email wording per template and language: (subject, plain-text body), both Jinja2."""

from __future__ import annotations

LINES_EN = (
    "{% for line in request.lines %}\n  {{ line.line_no }}. {{ line.description }}: {{ line.quantity | number }} "
    "{{ line.unit }} x {{ line.unit_price | money(request.currency) }} = {{ line.amount | money(request.currency) }}"
    "\n{% endfor %}"
    "Total: {{ request.total | money(request.currency) }}"
)
LINES_DE = LINES_EN.replace("Total:", "Gesamt:")

CATALOG: dict[str, dict[str, tuple[str, str]]] = {
    "purchase_order": {
        "en": (
            "Purchase order {{ request.number }}: {{ request.title }}",
            "Dear {{ vendor_name }},\n\nplease find our purchase order {{ request.number }} (revision "
            "{{ request.revision }}), needed by {{ request.needed_by | day }}.\n\n" + LINES_EN + "\n\n"
            "Accept or decline the order here (the link expires on {{ expires_at | day }}):\n{{ respond_url }}",
        ),
        "de": (
            "Bestellung {{ request.number }}: {{ request.title }}",
            "Sehr geehrte Damen und Herren von {{ vendor_name }},\n\nanbei unsere Bestellung {{ request.number }} "
            "(Revision {{ request.revision }}), benötigt bis {{ request.needed_by | day }}.\n\n" + LINES_DE + "\n\n"
            "Bitte nehmen Sie die Bestellung hier an oder lehnen Sie sie ab (gültig bis {{ expires_at | day }}):\n"
            "{{ respond_url }}",
        ),
    },
    "order_cancelled": {
        "en": (
            "Purchase order {{ number }} cancelled",
            "Dear {{ vendor_name }},\n\nour purchase order {{ number }} has been cancelled.\n\nReason: {{ reason }}",
        ),
        "de": (
            "Bestellung {{ number }} storniert",
            "Sehr geehrte Damen und Herren von {{ vendor_name }},\n\nunsere Bestellung {{ number }} wurde "
            "storniert.\n\nGrund: {{ reason }}",
        ),
    },
    "contract_ready_vendor": {
        "en": (
            "Contract for purchase order {{ number }} ready to sign",
            "Dear {{ vendor_name }},\n\nthe contract for purchase order {{ number }} is ready to sign.\n\n"
            "Document SHA-256: {{ document_sha256 }}\nDocument: {{ document_url }}\n\n"
            "Sign it here (the link expires on {{ expires_at | day }}):\n{{ sign_url }}",
        ),
        "de": (
            "Vertrag zur Bestellung {{ number }} bereit zur Unterschrift",
            "Sehr geehrte Damen und Herren von {{ vendor_name }},\n\nder Vertrag zur Bestellung {{ number }} ist "
            "bereit zur Unterschrift.\n\nSHA-256 des Dokuments: {{ document_sha256 }}\nDokument: {{ document_url }}"
            "\n\nHier unterschreiben (gültig bis {{ expires_at | day }}):\n{{ sign_url }}",
        ),
    },
    "contract_executed_vendor": {
        "en": (
            "Contract for purchase order {{ number }} executed",
            "Dear {{ vendor_name }},\n\nthe contract for purchase order {{ number }} is signed by both parties.\n\n"
            "Executed document SHA-256: {{ executed_sha256 }}\nExecuted document: {{ document_url }}",
        ),
        "de": (
            "Vertrag zur Bestellung {{ number }} unterzeichnet",
            "Sehr geehrte Damen und Herren von {{ vendor_name }},\n\nder Vertrag zur Bestellung {{ number }} ist von "
            "beiden Parteien unterzeichnet.\n\nSHA-256 des Dokuments: {{ executed_sha256 }}\n"
            "Unterzeichnetes Dokument: {{ document_url }}",
        ),
    },
    "contract_ready_buyer": {
        "en": (
            "Contract {{ contract_id }} for {{ number }} awaits the buyer's signature",
            "The contract for purchase order {{ number }} has been generated.\n\n"
            "Document SHA-256: {{ document_sha256 }}\nDocument: {{ document_url }}",
        ),
    },
    "task_assigned": {
        "en": (
            "Approval needed: {{ request_number }} {{ request_title }}",
            'Hello {{ assignee.name }},\n\nplease review {{ request_number }} "{{ request_title }}"'
            "{% if on_behalf_of %} on behalf of {{ on_behalf_of.name }}{% endif %} by {{ due_at | moment }}.\n\n"
            "{{ task_url }}",
        ),
    },
    "task_reminder": {
        "en": (
            "Reminder: an approval waits for you",
            "Hello {{ assignee.name }},\n\nan approval task is due on {{ due_at | moment }}.\n\n{{ task_url }}",
        ),
    },
    "task_escalated": {
        "en": (
            "Escalated approval for you",
            "Hello {{ to.name }},\n\nan approval task of {{ from_.name }} was escalated to you: {{ reason }}\n\n"
            "{{ task_url }}",
        ),
    },
    "request_approved": {
        "en": (
            "Approved: {{ number }} {{ title }}",
            "Hello {{ requester.name }},\n\nyour purchase request {{ number }} was approved; we are sending the "
            "order to the vendor.",
        ),
    },
    "request_rejected": {
        "en": (
            "Rejected: {{ number }}",
            "Hello {{ requester.name }},\n\nyour purchase request {{ number }} was rejected by "
            "{{ decided_by.name }}.\n\nComment: {{ comment }}",
        ),
    },
    "changes_requested": {
        "en": (
            "Changes requested: {{ number }}",
            "Hello {{ requester.name }},\n\n{{ decided_by.name }} asks for changes to your purchase request "
            "{{ number }}.\n\nComment: {{ comment }}\n\nRevise it here: {{ request_url }}",
        ),
    },
    "vendor_credentials_rotated": {
        "en": (
            "Your webhook signing secret was renewed",
            "Hello {{ vendor_name }},\n\na new signing secret for the webhooks between you and us was created by "
            "{{ rotated_by }} at {{ rotated_at }} (secret id {{ secret_id }}); earlier secrets stop working after "
            "the overlap period.\n\nIf you did not ask for this, tell us at once.",
        ),
        "de": (
            "Ihr Webhook-Signaturschlüssel wurde erneuert",
            "Guten Tag {{ vendor_name }},\n\nein neuer Signaturschlüssel für die Webhooks zwischen Ihnen und uns wurde "
            "von {{ rotated_by }} am {{ rotated_at }} erstellt (Schlüssel-ID {{ secret_id }}); frühere Schlüssel "
            "verlieren nach der Übergangszeit ihre Gültigkeit.\n\nFalls Sie das nicht veranlasst haben, melden Sie "
            "sich bitte umgehend.",
        ),
    },
    "vendor_contacts_changed": {
        "en": (
            "Your contact addresses with us were changed",
            "Hello {{ vendor_name }},\n\n{{ changed_by }} changed your company's contact addresses with us at "
            "{{ changed_at }}; this address is no longer one of them. Orders, contracts and new webhook secrets now "
            "go to: {{ contacts }}.\n\nIf you did not ask for this, tell us at once.",
        ),
        "de": (
            "Ihre Kontaktadressen bei uns wurden geändert",
            "Guten Tag {{ vendor_name }},\n\n{{ changed_by }} hat am {{ changed_at }} die Kontaktadressen Ihres "
            "Unternehmens bei uns geändert; diese Adresse gehört nicht mehr dazu. Bestellungen, Verträge und neue "
            "Webhook-Schlüssel gehen jetzt an: {{ contacts }}.\n\nFalls Sie das nicht veranlasst haben, melden Sie "
            "sich bitte umgehend.",
        ),
    },
    "vendor_secret_retrieval": {
        "en": (
            "Retrieve your new webhook signing secret",
            "Hello {{ vendor_name }},\n\na new signing secret for the webhooks between you and us was created by "
            "{{ rotated_by }} at {{ rotated_at }} (secret id {{ secret_id }}). Nobody at our company can see it: "
            "retrieve it yourself here, once (the link works a single time and expires at "
            "{{ expires_at }}):\n{{ retrieval_url }}\n\n"
            "If you did not ask for this, do not open the link and tell us at once.",
        ),
        "de": (
            "Ihren neuen Webhook-Signaturschlüssel abrufen",
            "Guten Tag {{ vendor_name }},\n\nein neuer Signaturschlüssel für die Webhooks zwischen Ihnen und uns "
            "wurde von {{ rotated_by }} am {{ rotated_at }} erstellt (Schlüssel-ID {{ secret_id }}). Niemand in "
            "unserem Unternehmen kann ihn sehen: Rufen Sie ihn hier einmalig selbst ab (der Link funktioniert ein "
            "einziges Mal und gilt bis {{ expires_at }}):\n{{ retrieval_url }}"
            "\n\nFalls Sie das nicht veranlasst haben, öffnen Sie den Link nicht und melden Sie sich bitte umgehend.",
        ),
    },
    "vendor_accepted": {
        "en": (
            "Vendor accepted: {{ number }}",
            "Hello {{ requester.name }},\n\n{{ vendor_name }} accepted the order {{ number }}."
            "{% if expected_delivery %} Expected delivery: {{ expected_delivery | day }}.{% endif %}"
            "{% if note %}\n\nNote: {{ note }}{% endif %}",
        ),
    },
    "vendor_declined": {
        "en": (
            "Vendor declined: {{ number }}",
            "Hello {{ requester.name }},\n\n{{ vendor_name }} declined the order {{ number }}.\n\nReason: {{ reason }}",
        ),
    },
    "contract_ready_requester": {
        "en": (
            "Contract ready to sign: {{ number }}",
            "Hello {{ requester.name }},\n\nthe contract for {{ number }} was generated and is being signed.",
        ),
    },
    "contract_executed": {
        "en": (
            "Contract executed: {{ number }}",
            "Hello {{ requester.name }},\n\nthe contract for {{ number }} is signed by both parties.\n\n"
            "Executed document SHA-256: {{ executed_sha256 }}",
        ),
    },
    "task_withdrawn": {
        "en": (
            "No longer needed: your approval of {{ number }}",
            "Hello {{ assignee.name }},\n\nthe approval task for {{ number }} was withdrawn; you need not decide "
            "it.\n\nReason: {{ reason }}",
        ),
    },
    "chain_blocked": {
        "en": (
            "Approval blocked: {{ number }} {{ request_title }}",
            "Hello,\n\nthe purchase request {{ number }} of {{ requester.name }} cannot be routed for approval: "
            "{{ reason }}\n\nProcurement must correct the approver directory or the policy; the request waits "
            "until then.\n\n{{ request_url }}",
        ),
    },
    "contract_voided": {
        "en": (
            "Contract voided: {{ number }}",
            "Hello {{ requester.name }},\n\nthe contract for {{ number }} was voided and can no longer be "
            "signed.{% if reason %}\n\nReason: {{ reason }}{% endif %}",
        ),
    },
    "contract_expired": {
        "en": (
            "Contract expired unsigned: {{ number }}",
            "Hello {{ requester.name }},\n\nthe contract for {{ number }} expired before both parties signed it; "
            "procurement must generate a new one or cancel the order.",
        ),
    },
    "contract_expired_vendor": {
        "en": (
            "Contract for purchase order {{ number }} expired",
            "Dear {{ vendor_name }},\n\nthe contract for purchase order {{ number }} expired before it was "
            "signed; its signing link no longer works. We will be in touch.",
        ),
        "de": (
            "Vertrag zur Bestellung {{ number }} abgelaufen",
            "Sehr geehrte Damen und Herren von {{ vendor_name }},\n\nder Vertrag zur Bestellung {{ number }} ist "
            "abgelaufen, bevor er unterschrieben wurde; der Link zur Unterschrift gilt nicht mehr. Wir melden uns.",
        ),
    },
    "delivery_failed": {
        "en": (
            "Not delivered: {{ template }} for {{ number }}",
            "Hello,\n\na message could not be delivered after {{ attempts }} attempt(s).\n\n"
            "Order: {{ number }}\nMessage: {{ template }} by {{ channel }} to {{ recipient }}\n"
            "Last error: {{ error }}\n\nProcurement can correct the address and retry the delivery.",
        ),
    },
    "budget_threshold": {
        "en": (
            "Budget {{ cost_center }} {{ period }} passed {{ threshold_percent }} %",
            "Hello {{ owner.name }},\n\nthe budget of cost centre {{ cost_center_name }} ({{ cost_center }}) for "
            "{{ period }} is {{ utilisation_percent | number }} % used: it passed {{ threshold_percent }} %.\n\n"
            "{{ budgets_url }}",
        ),
    },
    "checklist_item_ready": {
        "en": (
            "To do for {{ employee.name }}: {{ item.title }}",
            "Hello,\n\nthe {{ kind }} checklist of {{ employee.name }} has an item for you: {{ item.title }}, "
            "due on {{ item.due_on | day }}.\n\n{{ checklist_url }}",
        ),
        "de": (
            "Aufgabe für {{ employee.name }}: {{ item.title }}",
            "Guten Tag,\n\nin der {{ 'Onboarding' if kind == 'onboarding' else 'Offboarding' }}-Checkliste von "
            "{{ employee.name }} wartet eine Aufgabe auf Sie: {{ item.title }}, fällig am {{ item.due_on | day }}."
            "\n\n{{ checklist_url }}",
        ),
    },
    "checklist_item_reminder": {
        "en": (
            "Due today: {{ item.title }} ({{ employee.name }})",
            "Hello,\n\nthe item {{ item.title }} of the {{ kind }} checklist of {{ employee.name }} is due today, "
            "{{ item.due_on | day }}, and still open.\n\n{{ checklist_url }}",
        ),
        "de": (
            "Heute fällig: {{ item.title }} ({{ employee.name }})",
            "Guten Tag,\n\ndie Aufgabe {{ item.title }} der Checkliste von {{ employee.name }} ist heute, am "
            "{{ item.due_on | day }}, fällig und noch offen.\n\n{{ checklist_url }}",
        ),
    },
    "checklist_item_overdue": {
        "en": (
            "Overdue: {{ item.title }} ({{ employee.name }})",
            "Hello,\n\nthe item {{ item.title }} of the {{ kind }} checklist of {{ employee.name }} was due on "
            "{{ item.due_on | day }} and is not done yet. Please do it now."
            "{% if escalated_to %}\n\nIt has been escalated to {{ escalated_to }}.{% endif %}\n\n{{ checklist_url }}",
        ),
        "de": (
            "Überfällig: {{ item.title }} ({{ employee.name }})",
            "Guten Tag,\n\ndie Aufgabe {{ item.title }} der Checkliste von {{ employee.name }} war am "
            "{{ item.due_on | day }} fällig und ist noch offen. Bitte erledigen Sie sie jetzt."
            "{% if escalated_to %}\n\nSie wurde an {{ escalated_to }} eskaliert.{% endif %}\n\n{{ checklist_url }}",
        ),
    },
    "checklist_item_escalated": {
        "en": (
            "Escalated to {{ escalated_to }}: {{ item.title }} ({{ employee.name }})",
            "Hello,\n\n{{ item.title }} of the {{ kind }} checklist of {{ employee.name }} is still open after its "
            "due day {{ item.due_on | day }}{% if item.access_revocation %}: an access of someone who has left is "
            "still open{% endif %}. It is escalated to you; please see to it at once.\n\n{{ checklist_url }}",
        ),
        "de": (
            "Eskaliert an {{ escalated_to }}: {{ item.title }} ({{ employee.name }})",
            "Guten Tag,\n\n{{ item.title }} aus der Checkliste von {{ employee.name }} ist nach dem Stichtag "
            "{{ item.due_on | day }} noch offen{% if item.access_revocation %}: ein Zugang einer ausgeschiedenen "
            "Person besteht noch{% endif %}. Die Aufgabe wurde an Sie eskaliert; bitte kümmern Sie sich sofort "
            "darum.\n\n{{ checklist_url }}",
        ),
    },
}

STAFF_DE: dict[str, tuple[str, str]] = {
    "contract_ready_buyer": (
        "Vertrag {{ contract_id }} zu {{ number }} wartet auf die Unterschrift des Käufers",
        "Der Vertrag zur Bestellung {{ number }} wurde erstellt.\n\n"
        "SHA-256 des Dokuments: {{ document_sha256 }}\nDokument: {{ document_url }}",
    ),
    "task_assigned": (
        "Freigabe erbeten: {{ request_number }} {{ request_title }}",
        "Hallo {{ assignee.name }},\n\nbitte prüfen Sie {{ request_number }} „{{ request_title }}“"
        "{% if on_behalf_of %} in Vertretung für {{ on_behalf_of.name }}{% endif %} bis {{ due_at | moment }}.\n\n"
        "{{ task_url }}",
    ),
    "task_reminder": (
        "Erinnerung: eine Freigabe wartet auf Sie",
        "Hallo {{ assignee.name }},\n\neine Freigabeaufgabe ist am {{ due_at | moment }} fällig.\n\n{{ task_url }}",
    ),
    "task_escalated": (
        "Eskalierte Freigabe für Sie",
        "Hallo {{ to.name }},\n\neine Freigabeaufgabe von {{ from_.name }} wurde an Sie eskaliert: {{ reason }}\n\n"
        "{{ task_url }}",
    ),
    "request_approved": (
        "Freigegeben: {{ number }} {{ title }}",
        "Hallo {{ requester.name }},\n\nIhr Antrag {{ number }} wurde freigegeben; wir senden die "
        "Bestellung an den Lieferanten.",
    ),
    "request_rejected": (
        "Abgelehnt: {{ number }}",
        "Hallo {{ requester.name }},\n\nIhr Antrag {{ number }} wurde von {{ decided_by.name }} "
        "abgelehnt.\n\nKommentar: {{ comment }}",
    ),
    "changes_requested": (
        "Änderungen angefordert: {{ number }}",
        "Hallo {{ requester.name }},\n\n{{ decided_by.name }} hat Änderungen an Ihrem Antrag {{ number }} "
        "angefordert.\n\nKommentar: {{ comment }}\n\nAntrag überarbeiten: {{ request_url }}",
    ),
    "vendor_accepted": (
        "Lieferant hat angenommen: {{ number }}",
        "Hallo {{ requester.name }},\n\n{{ vendor_name }} hat die Bestellung {{ number }} angenommen."
        "{% if expected_delivery %} Voraussichtliche Lieferung: {{ expected_delivery | day }}.{% endif %}"
        "{% if note %}\n\nHinweis: {{ note }}{% endif %}",
    ),
    "vendor_declined": (
        "Lieferant hat abgelehnt: {{ number }}",
        "Hallo {{ requester.name }},\n\n{{ vendor_name }} hat die Bestellung {{ number }} abgelehnt.\n\n"
        "Grund: {{ reason }}",
    ),
    "contract_ready_requester": (
        "Vertrag bereit zur Unterschrift: {{ number }}",
        "Hallo {{ requester.name }},\n\nder Vertrag zu {{ number }} wurde erstellt und wird unterschrieben.",
    ),
    "contract_executed": (
        "Vertrag unterzeichnet: {{ number }}",
        "Hallo {{ requester.name }},\n\nder Vertrag zu {{ number }} ist von beiden Parteien unterschrieben.\n\n"
        "SHA-256 des unterzeichneten Dokuments: {{ executed_sha256 }}",
    ),
    "task_withdrawn": (
        "Nicht mehr nötig: Ihre Freigabe von {{ number }}",
        "Hallo {{ assignee.name }},\n\ndie Freigabeaufgabe zu {{ number }} wurde zurückgezogen; Sie müssen nicht "
        "mehr entscheiden.\n\nGrund: {{ reason }}",
    ),
    "chain_blocked": (
        "Freigabe blockiert: {{ number }} {{ request_title }}",
        "Hallo,\n\nder Antrag {{ number }} von {{ requester.name }} kann nicht zur Freigabe geleitet "
        "werden: {{ reason }}\n\nDer Einkauf muss das Verzeichnis der Freigebenden oder die Richtlinie korrigieren; "
        "bis dahin wartet der Antrag.\n\n{{ request_url }}",
    ),
    "contract_voided": (
        "Vertrag storniert: {{ number }}",
        "Hallo {{ requester.name }},\n\nder Vertrag zu {{ number }} wurde storniert und kann nicht mehr "
        "unterschrieben werden.{% if reason %}\n\nGrund: {{ reason }}{% endif %}",
    ),
    "contract_expired": (
        "Vertrag abgelaufen: {{ number }}",
        "Hallo {{ requester.name }},\n\nder Vertrag zu {{ number }} ist abgelaufen, bevor beide Parteien ihn "
        "unterschrieben haben; der Einkauf muss einen neuen erstellen oder die Bestellung stornieren.",
    ),
    "delivery_failed": (
        "Nicht zugestellt: {{ template }} zu {{ number }}",
        "Hallo,\n\neine Nachricht konnte nach {{ attempts }} Versuch(en) nicht zugestellt werden.\n\n"
        "Bestellung: {{ number }}\nNachricht: {{ template }} per {{ channel }} an {{ recipient }}\n"
        "Letzter Fehler: {{ error }}\n\nDer Einkauf kann die Adresse korrigieren und die Zustellung wiederholen.",
    ),
    "budget_threshold": (
        "Budget {{ cost_center }} {{ period }} hat {{ threshold_percent }} % überschritten",
        "Hallo {{ owner.name }},\n\ndas Budget der Kostenstelle {{ cost_center_name }} ({{ cost_center }}) für "
        "{{ period }} ist zu {{ utilisation_percent | number }} % genutzt: es hat {{ threshold_percent }} % "
        "überschritten.\n\n{{ budgets_url }}",
    ),
}
"""German wording of the emails to people of ours (approvers, requesters, signatories, owners)."""

for _name, _wording in STAFF_DE.items():
    CATALOG[_name]["de"] = _wording
