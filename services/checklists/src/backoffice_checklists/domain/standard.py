"""The templates the service ships (version 1 of each): onboarding and offboarding, German and English.

They are seeded at start when no version of their key exists; HR edits them through the API,
which adds versions. The exit interview is an item a person holds and records; no questionnaire
replaces it.
"""

from __future__ import annotations

from backoffice_checklists.domain.templates import Due, Evidence, Kind, Language, Template, TemplateItem

# key, responsible, anchor, offset, evidence, depends_on, conditions, access revocation, (de, en)
_Row = tuple[str, str, str, int, Evidence, tuple[str, ...], dict[str, frozenset[str]], bool, tuple[str, str]]

ONBOARDING: list[_Row] = [
    (
        "contract_filed",
        "hr",
        "start_date",
        -14,
        "document_reference",
        (),
        {},
        False,
        ("Unterschriebenen Arbeitsvertrag ablegen", "File the signed employment contract"),
    ),
    (
        "personnel_data",
        "hr",
        "start_date",
        -7,
        "confirmation",
        ("contract_filed",),
        {},
        False,
        ("Personalstammdaten anlegen", "Create the personnel record"),
    ),
    (
        "accounts",
        "it",
        "start_date",
        -3,
        "confirmation",
        ("personnel_data",),
        {},
        False,
        ("Benutzerkonto, E-Mail und Gruppen anlegen", "Create the user account, mailbox and groups"),
    ),
    (
        "laptop",
        "it",
        "start_date",
        -1,
        "serial_number",
        ("personnel_data",),
        {},
        False,
        ("Laptop vorbereiten und Seriennummer erfassen", "Prepare the laptop and record its serial number"),
    ),
    (
        "workplace",
        "facilities",
        "start_date",
        -1,
        "confirmation",
        (),
        {"location": frozenset({"office", "hybrid"})},
        False,
        ("Arbeitsplatz und Zutrittskarte bereitstellen", "Provide the desk and the access badge"),
    ),
    (
        "welcome",
        "manager",
        "start_date",
        0,
        "confirmation",
        (),
        {},
        False,
        ("Am ersten Tag begrüßen und dem Team vorstellen", "Welcome on the first day and introduce the team"),
    ),
    (
        "security_training",
        "employee",
        "start_date",
        5,
        "confirmation",
        ("accounts",),
        {},
        False,
        ("Schulung Informationssicherheit und Datenschutz", "Information security and data protection training"),
    ),
    (
        "probation_goals",
        "manager",
        "start_date",
        14,
        "sign_off",
        ("welcome",),
        {},
        False,
        ("Ziele für die Probezeit vereinbaren (mit Gegenzeichnung HR)", "Agree probation goals (countersigned by HR)"),
    ),
]

OFFBOARDING: list[_Row] = [
    (
        "handover",
        "manager",
        "last_day",
        -10,
        "confirmation",
        (),
        {},
        False,
        ("Übergabe der Aufgaben planen", "Plan the handover of the work"),
    ),
    (
        "exit_interview",
        "hr",
        "last_day",
        -3,
        "interview_held",
        (),
        {},
        False,
        ("Austrittsgespräch führen (persönlich)", "Hold the exit interview (in person)"),
    ),
    (
        "equipment_returned",
        "it",
        "last_day",
        0,
        "serial_number",
        (),
        {},
        False,
        ("Laptop und Geräte zurücknehmen (Seriennummer)", "Take back the laptop and devices (serial number)"),
    ),
    (
        "badge_returned",
        "facilities",
        "last_day",
        0,
        "confirmation",
        (),
        {"location": frozenset({"office", "hybrid"})},
        True,
        ("Zutrittskarte einziehen und sperren", "Collect and disable the access badge"),
    ),
    (
        "accounts_disabled",
        "it",
        "last_day",
        0,
        "sign_off",
        (),
        {},
        True,
        ("Benutzerkonten und Zugänge sperren (Vier-Augen-Prinzip)", "Disable accounts and access (second sign-off)"),
    ),
    (
        "vpn_tokens_revoked",
        "security",
        "last_day",
        0,
        "confirmation",
        (),
        {},
        True,
        ("VPN-Zugänge und Tokens widerrufen", "Revoke VPN access and tokens"),
    ),
    (
        "reference_letter",
        "hr",
        "last_day",
        14,
        "document_reference",
        ("exit_interview",),
        {},
        False,
        ("Arbeitszeugnis ausstellen", "Issue the reference letter"),
    ),
    (
        "final_payroll",
        "hr",
        "last_day",
        30,
        "confirmation",
        ("equipment_returned",),
        {},
        False,
        ("Abschlussabrechnung freigeben", "Release the final payroll"),
    ),
]

_TITLES = {
    ("onboarding", "de"): "Onboarding",
    ("onboarding", "en"): "Onboarding",
    ("offboarding", "de"): "Offboarding",
    ("offboarding", "en"): "Offboarding",
}


def _template(kind: Kind, language: Language, rows: list[_Row]) -> Template:
    index = 0 if language == "de" else 1
    items = tuple(
        TemplateItem(
            key=key,
            title=titles[index],
            responsible=responsible,
            due=Due(anchor, offset),  # type: ignore[arg-type]
            evidence=evidence,
            depends_on=depends_on,
            conditions=conditions,
            access_revocation=access,
        )
        for key, responsible, anchor, offset, evidence, depends_on, conditions, access, titles in rows
    )
    return Template(f"{kind}-{language}", kind, language, 1, _TITLES[(kind, language)], items)


def standard_templates() -> list[Template]:
    kinds: list[tuple[Kind, list[_Row]]] = [("onboarding", ONBOARDING), ("offboarding", OFFBOARDING)]
    languages: list[Language] = ["de", "en"]
    return [_template(kind, language, rows) for kind, rows in kinds for language in languages]
