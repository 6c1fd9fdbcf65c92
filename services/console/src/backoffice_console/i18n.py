"""German and English: the user's locale claim chooses, the language switch overrides.

Texts are a small catalogue here (English is the key); money, numbers and dates are formatted
by Babel for the chosen locale.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from babel.dates import format_date, format_datetime
from babel.numbers import NumberFormatError, format_currency, format_decimal, parse_decimal

LOCALES = ("en", "de")

GERMAN: dict[str, str] = {
    "My requests": "Meine Anträge",
    "New request": "Neuer Antrag",
    "Inbox": "Posteingang",
    "Contracts": "Verträge",
    "Administration": "Verwaltung",
    "Sign out": "Abmelden",
    "Sign in": "Anmelden",
    "Status": "Status",
    "All": "Alle",
    "Search": "Suchen",
    "Filter": "Filtern",
    "Number": "Nummer",
    "Title": "Titel",
    "Vendor": "Lieferant",
    "Total": "Summe",
    "Created": "Erstellt",
    "Next page": "Nächste Seite",
    "First page": "Erste Seite",
    "No requests yet.": "Noch keine Anträge.",
    "Description": "Beschreibung",
    "Currency": "Währung",
    "Cost center": "Kostenstelle",
    "Department": "Abteilung",
    "Category": "Kategorie",
    "Needed by": "Benötigt bis",
    "Lines": "Positionen",
    "Quantity": "Menge",
    "Unit": "Einheit",
    "Unit price": "Einzelpreis",
    "Amount": "Betrag",
    "Add line": "Position hinzufügen",
    "Remove": "Entfernen",
    "Save draft": "Entwurf speichern",
    "Submit for approval": "Zur Freigabe einreichen",
    "Cancel request": "Antrag stornieren",
    "Reason": "Grund",
    "Confirm receipt": "Wareneingang bestätigen",
    "Received": "Erhalten",
    "Close": "Abschließen",
    "Approval chain": "Freigabekette",
    "Timeline": "Verlauf",
    "Read from the archive (finished long ago)": "Aus dem Archiv gelesen (lange abgeschlossen)",
    "The archived timeline cannot be shown now.": "Der archivierte Verlauf kann gerade nicht angezeigt werden.",
    "Contract": "Vertrag",
    "Waiting on": "Wartet auf",
    "since": "seit",
    "Requester": "Antragsteller",
    "Due": "Fällig",
    "Overdue": "Überfällig",
    "Step": "Schritt",
    "Open": "Öffnen",
    "No open tasks.": "Keine offenen Aufgaben.",
    "Approve": "Freigeben",
    "Reject": "Ablehnen",
    "Request changes": "Änderungen anfordern",
    "Comment": "Kommentar",
    "Decision": "Entscheidung",
    "Sign for the buyer": "Für den Käufer unterschreiben",
    "Document hash (SHA-256)": "Dokument-Hash (SHA-256)",
    "Draft PDF": "Entwurf (PDF)",
    "Executed PDF": "Unterzeichnet (PDF)",
    "Waiting for the buyer's signature": "Warten auf die Unterschrift des Käufers",
    "No contracts waiting.": "Keine wartenden Verträge.",
    "Signatures": "Unterschriften",
    "Approvers": "Freigebende",
    "Policies": "Richtlinien",
    "Version": "Version",
    "Active": "Aktiv",
    "Name": "Name",
    "Manager": "Vorgesetzter",
    "Access denied": "Zugriff verweigert",
    "You do not have the role needed for this page.": "Ihnen fehlt die Rolle für diese Seite.",
    "Your roles": "Ihre Rollen",
    "Back to the start page": "Zur Startseite",
    "Something went wrong": "Etwas ist schiefgelaufen",
    "Language": "Sprache",
    "You have signed out.": "Sie haben sich abgemeldet.",
    "The form has expired. Please try again.": "Das Formular ist abgelaufen. Bitte erneut versuchen.",
    "Please correct the marked fields.": "Bitte korrigieren Sie die markierten Felder.",
    "Working…": "Einen Moment…",
    "Page not found": "Seite nicht gefunden",
    "Approved by": "Freigegeben von",
    "pending": "offen",
    "approved": "freigegeben",
    "rejected": "abgelehnt",
    "changes_requested": "Änderungen angefordert",
    "draft": "Entwurf",
    "submitted": "eingereicht",
    "vendor_notified": "Lieferant benachrichtigt",
    "vendor_accepted": "Lieferant hat angenommen",
    "contract_pending": "Vertrag in Unterschrift",
    "vendor_declined": "Lieferant hat abgelehnt",
    "contract_executed": "Vertrag unterzeichnet",
    "received": "erhalten",
    "partially_received": "teilweise erhalten",
    "closed": "abgeschlossen",
    "cancelled": "storniert",
    "open": "offen",
    "skipped": "übersprungen",
    "signed": "unterschrieben",
    "executed": "ausgeführt",
    "generated": "erstellt",
    "Signed in as": "Angemeldet als",
    "Request": "Antrag",
    "Task": "Aufgabe",
    "Actions": "Aktionen",
    "total": "Summe",
    "Vendors": "Lieferanten",
    "New vendor": "Neuer Lieferant",
    "Contact": "Kontakt",
    "Webhook": "Webhook",
    "signing secrets": "Signaturschlüssel",
    "Edit": "Bearbeiten",
    "Block": "Sperren",
    "Unblock": "Entsperren",
    "No vendors yet.": "Noch keine Lieferanten.",
    "active": "aktiv",
    "blocked": "gesperrt",
    "Edit vendor": "Lieferant bearbeiten",
    "Contract templates": "Vertragsvorlagen",
    "Uploaded as version": "Hochgeladen als Version",
    "A second admin must activate it before new contracts use it.": (
        "Ein zweiter Administrator muss sie aktivieren, bevor neue Verträge sie verwenden."
    ),
    "Activated version": "Aktivierte Version",
    "New contracts use it from now on.": "Neue Verträge verwenden sie ab jetzt.",
    "You uploaded this version: a second admin must activate it.": (
        "Sie haben diese Version hochgeladen: ein zweiter Administrator muss sie aktivieren."
    ),
    "English": "Englisch",
    "German": "Deutsch",
    "Uploaded by": "Hochgeladen von",
    "Activated by": "Aktiviert von",
    "Show": "Anzeigen",
    "Preview PDF": "PDF-Vorschau",
    "Activate": "Aktivieren",
    "superseded": "abgelöst",
    "No versions yet.": "Noch keine Versionen.",
    "Typst source": "Typst-Quelltext",
    "Upload a new version": "Neue Version hochladen",
    (
        "The contracts service renders it with a sample order in its sandbox first; typst packages, "
        "files and the network are refused. It is used once a second admin activates it."
    ): (
        "Der Vertragsdienst rendert sie zuerst mit einer Beispielbestellung in seiner Sandbox; "
        "typst-Pakete, Dateien und Netzwerk sind nicht erlaubt. Verwendet wird sie, sobald ein "
        "zweiter Administrator sie aktiviert."
    ),
    "Upload version": "Version hochladen",
    "Choose English or German.": "Wählen Sie Englisch oder Deutsch.",
    "Enter the template's typst source.": "Geben Sie den typst-Quelltext der Vorlage ein.",
    "The template does not render": "Die Vorlage lässt sich nicht rendern",
    "Webhook credentials": "Webhook-Zugangsdaten",
    "Active signing secrets": "Aktive Signaturschlüssel",
    (
        "A new secret goes to the vendor's first contact as a one-time retrieval link; nobody here "
        "sees it. The previous secrets stay valid for a while, so the vendor can switch over."
    ): (
        "Ein neuer Schlüssel geht als einmaliger Abruflink an den ersten Kontakt des Lieferanten; "
        "hier sieht ihn niemand. Die bisherigen Schlüssel bleiben eine Weile gültig, damit der "
        "Lieferant umstellen kann."
    ),
    "A one-time retrieval link was sent to": "Ein einmaliger Abruflink wurde gesendet an",
    "valid until": "gültig bis",
    "The previous secrets stay valid until": "Die bisherigen Schlüssel bleiben gültig bis",
    "Send a new webhook secret to the vendor": "Dem Lieferanten einen neuen Webhook-Schlüssel senden",
    "Legal name": "Firmenname",
    "Webhook URL (optional)": "Webhook-URL (optional)",
    "Address": "Anschrift",
    "Contact emails (one a line)": "Kontakt-E-Mails (eine je Zeile)",
    "Save vendor": "Lieferant speichern",
    "Operations": "Betrieb",
    "Failed deliveries": "Fehlgeschlagene Zustellungen",
    "Retry": "Erneut versuchen",
    "Dead-lettered events": "Unzustellbare Ereignisse",
    "Redrive": "Erneut einspielen",
    "Service": "Dienst",
    "Event": "Ereignis",
    "Error": "Fehler",
    "Attempts": "Versuche",
    "Recipient": "Empfänger",
    "No failed deliveries.": "Keine fehlgeschlagenen Zustellungen.",
    "No dead letters.": "Keine unzustellbaren Ereignisse.",
    "redriven": "erneut eingespielt",
    "not reachable": "nicht erreichbar",
    "Channel": "Kanal",
    "Absences": "Abwesenheiten",
    "New absence": "Neue Abwesenheit",
    "Delegate": "Vertretung",
    "user id": "Benutzerkennung",
    "First day away": "Erster Abwesenheitstag",
    "Last day away": "Letzter Abwesenheitstag",
    "Save absence": "Abwesenheit speichern",
    "Your absences": "Ihre Abwesenheiten",
    "Who": "Wer",
    "planned or running": "geplant oder laufend",
    "over": "vorbei",
    "Cancel absence": "Abwesenheit aufheben",
    "No absences.": "Keine Abwesenheiten.",
    "Enter a date.": "Bitte ein Datum angeben.",
    "Choose a delegate.": "Bitte eine Vertretung wählen.",
    "The last day cannot be before the first.": "Der letzte Tag kann nicht vor dem ersten liegen.",
    (
        "While you are away, new approval tasks go to your delegate, and your "
        "open tasks move to them when the absence starts."
    ): (
        "Während Ihrer Abwesenheit gehen neue Freigabeaufgaben an Ihre "
        "Vertretung; offene Aufgaben wechseln zu Beginn der Abwesenheit "
        "dorthin."
    ),
    "Edit draft": "Entwurf bearbeiten",
    "Revise request": "Antrag überarbeiten",
    "Revise": "Überarbeiten",
    ("The approver asked for changes. Change what is needed and resubmit: the approval starts again."): (
        "Die freigebende Person hat Änderungen angefordert. Ändern Sie das Nötige und "
        "reichen Sie erneut ein: die Freigabe beginnt von vorn."
    ),
    "What you changed": "Was Sie geändert haben",
    "Resubmit for approval": "Erneut zur Freigabe einreichen",
    "Back": "Zurück",
    ("The request was changed meanwhile. Please check and save again."): (
        "Der Antrag wurde inzwischen geändert. Bitte prüfen und erneut speichern."
    ),
    "Changes since revision": "Änderungen seit Revision",
    "Field": "Feld",
    "Before": "Vorher",
    "Now": "Jetzt",
    "Line": "Position",
    "Line added": "Position hinzugefügt",
    "Line removed": "Position entfernt",
    "Nothing changed.": "Nichts geändert.",
    "title": "Titel",
    "description": "Beschreibung",
    "quantity": "Menge",
    "unit_price": "Einzelpreis",
    "amount": "Betrag",
    "unit": "Einheit",
    "needed_by": "Benötigt bis",
    "cost_center": "Kostenstelle",
    "vendor_id": "Lieferant",
    "category": "Kategorie",
    "currency": "Währung",
    "department": "Abteilung",
    "Budgets": "Budgets",
    "Budget": "Budget",
    "Insights": "Auswertungen",
    "Period": "Zeitraum",
    "Reserved": "Reserviert",
    "Committed": "Gebunden",
    "Spent": "Ausgegeben",
    "Remaining": "Verfügbar",
    "Utilisation": "Auslastung",
    "No budgets.": "Keine Budgets.",
    "Owner": "Verantwortlich",
    "Ledger": "Buchungen",
    "Download CSV": "CSV herunterladen",
    "Movement": "Buchungsart",
    "When": "Zeitpunkt",
    "Caused by": "Ausgelöst durch",
    "No movements.": "Keine Buchungen.",
    "allocated": "zugeteilt",
    "transferred_in": "Umbuchung (Eingang)",
    "transferred_out": "Umbuchung (Ausgang)",
    "reserved": "reserviert",
    "committed": "gebunden",
    "released": "wieder frei",
    "spent": "ausgegeben",
    "Budget check": "Budgetprüfung",
    "within budget": "im Budget",
    "over budget by": "Budget überschritten um",
    "no budget": "kein Budget",
    "unknown_cost_centre": "unbekannte Kostenstelle",
    "no_budget_for_period": "kein Budget für den Zeitraum",
    "period_closed": "Zeitraum abgeschlossen",
    "no_exchange_rate": "kein Wechselkurs",
    "revision": "Revision",
    "Cycle time trend": "Entwicklung der Durchlaufzeit",
    "Cycle time per stage": "Durchlaufzeit je Phase",
    "Where requests wait": "Wo Anträge warten",
    "Slowest approvers": "Langsamste Freigebende",
    "Spend by department": "Ausgaben je Abteilung",
    "Requests open longer than": "Anträge offen seit mehr als",
    "Open requests": "Offene Anträge",
    "Day": "Tag",
    "Stage": "Phase",
    "Requests": "Anträge",
    "Share": "Anteil",
    "Approver": "Freigebende(r)",
    "Decided": "Entschieden",
    "Median response": "Median Antwortzeit",
    "Open tasks": "Offene Aufgaben",
    "Oldest open task": "Älteste offene Aufgabe",
    "Reminders": "Erinnerungen",
    "Escalations": "Eskalationen",
    "Age": "Alter",
    "None.": "Keine.",
    "No figures yet.": "Noch keine Zahlen.",
    "No closed requests yet.": "Noch keine abgeschlossenen Anträge.",
    "Without an exchange rate": "Ohne Wechselkurs",
    "Cycle time p50 per day": "Durchlaufzeit p50 je Tag",
    "Cycle time p50 per stage": "Durchlaufzeit p50 je Phase",
    "Share of waiting time per stage": "Anteil der Wartezeit je Phase",
    "Slowest approvers by median response time": "Langsamste Freigebende nach Median-Antwortzeit",
    "Committed spend per department": "Gebundene Ausgaben je Abteilung",
    "approver": "Freigebende(r)",
    "vendor": "Lieferant",
    "buyer": "Käufer",
    "procurement": "Einkauf",
    "system": "System",
    # checklists
    "My items": "Meine Aufgaben",
    "My checklist items": "Meine Checklisten-Aufgaben",
    "Checklists": "Checklisten",
    (
        "Onboarding and offboarding items assigned to you or to a group of yours, earliest due "
        "first. Each asks for its evidence."
    ): (
        "Aufgaben aus Ein- und Austritten, die Ihnen oder einer Ihrer Gruppen zugewiesen sind, die "
        "früheste zuerst. Jede verlangt ihren Nachweis."
    ),
    "To do": "Zu erledigen",
    "Nothing to do.": "Nichts zu tun.",
    "Waiting for other items": "Wartet auf andere Aufgaben",
    "Waiting for": "Wartet auf",
    "Item": "Aufgabe",
    "Items": "Aufgaben",
    "Employee": "Mitarbeiter",
    "Assigned to": "Zuständig",
    "Evidence": "Nachweis",
    "onboarding": "Onboarding",
    "offboarding": "Offboarding",
    "running": "läuft",
    "completed": "abgeschlossen",
    "done": "erledigt",
    "ready": "bereit",
    "waiting": "wartet",
    "confirmation": "Bestätigung",
    "serial_number": "Seriennummer",
    "document_reference": "Dokument",
    "sign_off": "Gegenzeichnung",
    "interview_held": "Gespräch geführt",
    "signed_off_by": "gegengezeichnet von",
    "held_by": "geführt von",
    "held_on": "am",
    "note": "Notiz",
    "Serial number": "Seriennummer",
    "Document reference (filing number or link)": "Dokument (Ablagenummer oder Link)",
    "Signed off by (a second person)": "Gegengezeichnet von (eine zweite Person)",
    "Interview held by": "Gespräch geführt von",
    "Held on": "Geführt am",
    "Note (optional)": "Notiz (optional)",
    "Mark as done": "Als erledigt markieren",
    "Record and mark as done": "Erfassen und erledigen",
    "File and mark as done": "Ablegen und erledigen",
    "Record sign-off and mark as done": "Gegenzeichnung erfassen und erledigen",
    "Record interview as held": "Gespräch als geführt erfassen",
    "Enter this to complete the item.": "Bitte angeben, um die Aufgabe zu erledigen.",
    "Red flag": "Warnung",
    "Red flags": "Warnungen",
    "Access": "Zugang",
    "Escalated to": "Eskaliert an",
    "Kind": "Art",
    "Start / last day": "Eintritt / letzter Tag",
    "Start date": "Eintrittsdatum",
    "Last day": "Letzter Tag",
    "Progress": "Fortschritt",
    "Overdue items": "Überfällige Aufgaben",
    "due": "fällig",
    "after": "nach",
    "No checklists.": "Keine Checklisten.",
    "Previous page": "Vorherige Seite",
    ("access revocations are late (red flags): escalated to security."): (
        "Zugangsentzüge sind verspätet (Warnungen): an die Sicherheit eskaliert."
    ),
    "Templates": "Vorlagen",
    "Template": "Vorlage",
    "Checklist templates": "Checklisten-Vorlagen",
    "Versions": "Versionen",
    "Done by": "Erledigt von",
    "Cancel checklist": "Checkliste abbrechen",
    "Give a reason.": "Bitte einen Grund angeben.",
    "Saved as version": "Gespeichert als Version",
    "Running checklists keep the version they were made from.": "Laufende Checklisten behalten ihre Version.",
    "Items (JSON)": "Aufgaben (JSON)",
    "Save as new version": "Als neue Version speichern",
    "Preview for an employee": "Vorschau für einen Mitarbeiter",
    ("What the newest saved version gives this employee; nothing is stored."): (
        "Was die neueste gespeicherte Version diesem Mitarbeiter gibt; nichts wird gespeichert."
    ),
    "Preview": "Vorschau",
    "Location": "Standort",
    "Employment type": "Beschäftigungsart",
    "Enter a name.": "Bitte einen Namen angeben.",
    "This task changed while the page was open.": "Diese Aufgabe hat sich geändert, während die Seite offen war.",
    "Edit policies": "Richtlinien bearbeiten",
    "Imported approvers": "Importierte Freigebende",
    "Groups": "Gruppen",
    "inactive": "inaktiv",
    "Import approvers (CSV)": "Freigebende importieren (CSV)",
    (
        "A header row (id, name, email, manager_id, department, head_of, groups, limit_amount, "
        "limit_currency, active), then one approver a row; head_of and groups separated by ';'. All "
        "or nothing."
    ): (
        "Eine Kopfzeile (id, name, email, manager_id, department, head_of, groups, limit_amount, "
        "limit_currency, active), dann eine freigebende Person pro Zeile; head_of und groups durch ';' "
        "getrennt. Alles oder nichts."
    ),
    "Nothing was imported. Fix these rows:": "Nichts wurde importiert. Bitte diese Zeilen korrigieren:",
    "Import errors": "Importfehler",
    "Row": "Zeile",
    "Problem": "Problem",
    "CSV text": "CSV-Text",
    "or a CSV file": "oder eine CSV-Datei",
    "Import": "Importieren",
    "Email": "E-Mail",
    "Head of (departments, comma separated)": "Leitet (Abteilungen, durch Komma getrennt)",
    "Groups (comma separated)": "Gruppen (durch Komma getrennt)",
    "Approval limit": "Freigabegrenze",
    "Save": "Speichern",
    "Approval policy": "Freigaberichtlinie",
    "Chains already running keep their version.": "Laufende Freigaben behalten ihre Version.",
    "Draft": "Entwurf",
    "Format": "Format",
    "Policy document": "Richtlinie",
    "Dry run of a sample request": "Probelauf mit einem Beispielantrag",
    ("Who would approve this request under the draft, in which order and why; nothing is stored."): (
        "Wer diesen Antrag nach dem Entwurf freigeben würde, in welcher Reihenfolge und warum; nichts wird gespeichert."
    ),
    "Dry run": "Probelauf",
    "Result": "Ergebnis",
    "stage": "Stufe",
    "for": "für",
    "No approval needed.": "Keine Freigabe nötig.",
    "Enter the requester's id.": "Bitte die Kennung des Antragstellers angeben.",
    "Enter an amount.": "Bitte einen Betrag angeben.",
}


EVENT_LABELS: dict[str, tuple[str, str]] = {
    # event type -> (English, German): what the timeline shows instead of the raw type
    "purchase_request.drafted": ("Draft created", "Entwurf angelegt"),
    "purchase_request.draft_updated": ("Draft changed", "Entwurf geändert"),
    "purchase_request.submitted": ("Submitted for approval", "Zur Freigabe eingereicht"),
    "purchase_request.revised": ("Revised and resubmitted", "Überarbeitet und erneut eingereicht"),
    "purchase_request.changes_requested": ("Changes requested", "Änderungen angefordert"),
    "purchase_request.approved": ("Approved", "Freigegeben"),
    "purchase_request.rejected": ("Rejected", "Abgelehnt"),
    "purchase_request.cancelled": ("Cancelled", "Storniert"),
    "purchase_request.vendor_reassigned": (
        "Order moved to another vendor",
        "Bestellung an einen anderen Lieferanten vergeben",
    ),
    "purchase_request.receipt_confirmed": ("Receipt confirmed", "Wareneingang bestätigt"),
    "purchase_request.closed": ("Closed", "Abgeschlossen"),
    "approval.task_assigned": ("Approval task assigned", "Freigabeaufgabe zugewiesen"),
    "approval.task_decided": ("Approval decision", "Freigabeentscheidung"),
    "approval.task_withdrawn": ("Approval task withdrawn", "Freigabeaufgabe zurückgezogen"),
    "approval.reminder_due": ("Reminder sent", "Erinnerung gesendet"),
    "approval.escalated": ("Escalated", "Eskaliert"),
    "vendor.notified": ("Order sent to the vendor", "Bestellung an den Lieferanten gesendet"),
    "vendor.accepted": ("Vendor accepted the order", "Lieferant hat die Bestellung angenommen"),
    "vendor.declined": ("Vendor declined the order", "Lieferant hat die Bestellung abgelehnt"),
    "vendor.contract_signed": ("Vendor signed the contract", "Lieferant hat den Vertrag unterschrieben"),
    "contract.generated": ("Contract generated", "Vertrag erstellt"),
    "contract.signed": ("Contract signed", "Vertrag unterschrieben"),
    "contract.executed": ("Contract signed by both parties", "Vertrag von beiden Parteien unterschrieben"),
    "contract.voided": ("Contract voided", "Vertrag storniert"),
    "contract.expired": ("Contract expired", "Vertrag abgelaufen"),
    "notification.failed": ("A message could not be delivered", "Eine Nachricht konnte nicht zugestellt werden"),
    "budget.checked": ("Budget checked", "Budget geprüft"),
    "budget.reserved": ("Budget reserved", "Budget reserviert"),
    "budget.committed": ("Budget committed", "Budget gebunden"),
    "budget.released": ("Budget released", "Budget wieder frei"),
    "budget.spent": ("Budget spent", "Budget verbraucht"),
    "budget_allocated": ("Budget allocated", "Budget zugeteilt"),
    "transfer": ("Transfer", "Umbuchung"),
    "period_closed": ("Period closed", "Zeitraum abgeschlossen"),
}


def event_label(locale: str, event_type: str) -> str:
    """A person's words for an event type; an unknown type reads as its words ("x.foo_bar" -> "Foo bar")."""
    known = EVENT_LABELS.get(event_type)
    if known is not None:
        return known[1] if locale == "de" else known[0]
    words = event_type.rsplit(".", 1)[-1].replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else event_type


def note_beyond(label: str, note: object) -> str:
    """What a timeline note says beyond its entry's label: nothing when it only repeats it ("Entwurf angelegt"
    under "Entwurf angelegt"), the rest when it begins with it ("Freigegeben; die Bestellung geht an den
    Lieferanten" under "Freigegeben" -> "die Bestellung geht an den Lieferanten"), else the whole note. A
    leading article does not count ("The vendor signed the contract" under "Vendor signed the contract")."""
    text = str(note or "").strip()
    head = _without_article(label.strip().rstrip(".").lower())
    lowered = text.lower()
    start = len(lowered) - len(_without_article(lowered))
    if not head or not lowered.startswith(head, start):
        return text
    rest = text[start + len(head) :]
    if rest[:1].isalnum():  # a longer word, not the label ("Closed" and "Closedown")
        return text
    return rest.lstrip(" .,;:\u2014\u2013-").strip()  # and the dashes


def _without_article(text: str) -> str:
    for article in ("the ", "a ", "der ", "die ", "das ", "eine ", "ein "):
        if text.startswith(article):
            return text[len(article) :]
    return text


def normalize(locale: object) -> str:
    text = str(locale or "").lower().replace("_", "-")
    return text[:2] if text[:2] in LOCALES else "en"


def translate(locale: str, text: str) -> str:
    if locale == "de":
        return GERMAN.get(text, text)
    if "_" in text and text in GERMAN:  # a status or field name ("changes_requested"): its words in English
        return text.replace("_", " ")
    return text


def money(locale: str, amount: object, currency: str) -> str:
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return f"{amount} {currency}"
    return format_currency(value, currency, locale=_babel(locale))


def number(locale: str, value: object) -> str:
    try:
        return format_decimal(Decimal(str(value)), locale=_babel(locale))
    except (InvalidOperation, ValueError):
        return str(value)


def when(locale: str, value: object) -> str:
    if isinstance(value, str) and len(value) == 10:
        try:
            return format_date(date.fromisoformat(value), format="medium", locale=_babel(locale))
        except ValueError:
            return value
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        return format_datetime(value, format="medium", locale=_babel(locale))
    if isinstance(value, date):
        return format_date(value, format="medium", locale=_babel(locale))
    return str(value)


def day(locale: str, value: object) -> str:
    """A calendar day (``needed_by``): never a time of day, even when the value carries one."""
    if value in (None, ""):
        return ""
    if isinstance(value, datetime):
        return format_date(value.date(), format="medium", locale=_babel(locale))
    if isinstance(value, date):
        return format_date(value, format="medium", locale=_babel(locale))
    text = str(value)
    try:
        parsed = date.fromisoformat(text[:10])
    except ValueError:
        return text
    return format_date(parsed, format="medium", locale=_babel(locale))


def _babel(locale: str) -> str:
    return "de_DE" if locale == "de" else "en_GB"


def plain(locale: str, value: object, places: int = 0) -> str:
    """A decimal for an input field, without grouping, in the user's decimal separator: "1200,5" in
    German, "1200.5" in English; trailing zeros dropped down to ``places`` decimals."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    text = format(number, "f")
    if "." in text:
        whole, fraction = text.split(".")
        fraction = fraction.rstrip("0").ljust(places, "0")
        text = f"{whole}.{fraction}" if fraction else whole
    elif places:
        text = f"{text}.{'0' * places}"
    return text.replace(".", ",") if locale == "de" else text


def decimal_input(locale: str, text: str) -> str:
    """A number typed in the user's language ("1.200,50" in German) as the API's plain decimal;
    text that is no number is passed on unchanged, for the service to report next to the field."""
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "")
    if not cleaned:
        return cleaned
    try:
        return str(parse_decimal(cleaned, locale=_babel(locale), strict=True))
    except NumberFormatError:
        try:
            return str(Decimal(cleaned))
        except InvalidOperation:
            return text.strip()
