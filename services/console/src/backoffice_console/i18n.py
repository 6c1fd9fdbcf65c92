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
    "Submit for approval": "Zur Genehmigung einreichen",
    "Cancel request": "Antrag stornieren",
    "Reason": "Grund",
    "Confirm receipt": "Wareneingang bestätigen",
    "Received": "Erhalten",
    "Close": "Abschließen",
    "Approval chain": "Genehmigungskette",
    "Timeline": "Verlauf",
    "Contract": "Vertrag",
    "Waiting on": "Wartet auf",
    "since": "seit",
    "Requester": "Antragsteller",
    "Due": "Fällig",
    "Overdue": "Überfällig",
    "Step": "Schritt",
    "Open": "Öffnen",
    "No open tasks.": "Keine offenen Aufgaben.",
    "Approve": "Genehmigen",
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
    "Approvers": "Genehmiger",
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
    "Approved by": "Genehmigt von",
    "pending": "offen",
    "approved": "genehmigt",
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
}


def normalize(locale: object) -> str:
    text = str(locale or "").lower().replace("_", "-")
    return text[:2] if text[:2] in LOCALES else "en"


def translate(locale: str, text: str) -> str:
    return GERMAN.get(text, text) if locale == "de" else text


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


def _babel(locale: str) -> str:
    return "de_DE" if locale == "de" else "en_GB"


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
