"""CPU of preparing an email for SMTP: the email package's message flattened by aiosmtplib (old) against
the bytes written directly (``mail.smtp.build_mail``, new) (not a test).

Old: ``build_message`` (the compat32 MIME classes), then what aiosmtplib's ``send_message`` does before the
SMTP commands: a copy of the message, ``flatten_message`` (compat32 ``BytesGenerator``), the sender and the
recipients read back from the headers. New: ``build_mail``. Both over the same emails (the flow's German
and English templates with both parts, a text-only one, a non-ASCII display name, a long subject); before
timing, for each email with the same boundary and date, the bench asserts the same sender, recipients and
bytes. Then old and new are alternated round by round; reported: CPU per email (median of ``--rounds``).

    .venv/bin/python services/notifications/bench/mail_cpu.py --n 300 --rounds 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from email.utils import formatdate
from typing import Any

from aiosmtplib.email import extract_recipients, extract_sender, flatten_message

from backoffice_notifications.mail.smtp import Mail, build_mail, build_message
from backoffice_notifications.settings import Settings

SHA = "fea023063dca974297efb2f453ec0750da68278e689975fa0143a78eb74a3ed0"
LINK = "http://127.0.0.1:25663/contracts/05a91627-1d7c-472f-b6af-b8e6b84a404c/executed.pdf?token=executed.1797242886.YOX6Hj"


def html_of(subject: str, text: str, language: str) -> str:
    paragraphs = "".join(f"<p>{p}</p>\n" for p in text.split("\n\n") if p.strip())
    return f'<!doctype html>\n<html lang="{language}"><head><meta charset="utf-8"><title>{subject}</title></head>\n<body style="font-family: sans-serif">\n{paragraphs}</body></html>'  # noqa: E501


def samples() -> list[dict[str, Any]]:
    """Emails as the flow's templates render them (subjects and bodies of a load run), German and English."""
    signed = "the contract for PR-000043 is signed by both parties."
    german = "der Vertrag zur Bestellung PR-000026 ist von beiden Seiten unterzeichnet."
    mails = [
        ("Contract executed: PR-000043", f"Hello Rita Requester (7bcd10),\n\n{signed}\n\nSHA-256: {SHA}\n", "en"),
        (
            "Contract 0eea6557-2497-462c-9b49-368e13fb3bb0 for PR-000012 awaits the buyer's signature",
            f"The contract for purchase order PR-000012 has been generated.\n\nSHA-256: {SHA}\nDocument: {LINK}\n",
            "en",
        ),
        (
            "Vertrag zur Bestellung PR-000026 ausgeführt",
            f"Sehr geehrte Bürobedarf Groß GmbH,\n\n{german}\n\nSHA-256: {SHA}\nDokument: {LINK}\n",
            "de",
        ),
        (
            "Ihre Anfrage PR-000001 „Laptops für das Team Süd“ wurde genehmigt \u2013 Größe über 10.000 €",
            "Guten Tag Jörg Müller,\n\nbitte prüfen Sie die Bestellung.\n" * 3,
            "de",
        ),
    ]
    out = [{"subject": s, "text": t, "html": html_of(s, t, lang), "language": lang} for s, t, lang in mails]
    out.append({"subject": "Your request was approved", "text": "Approved.\n", "html": None, "language": "en"})
    return out


Sample = dict[str, Any]


def old(settings: Settings, sample: Sample, i: int, *, boundary: str | None = None, date: str | None = None) -> Mail:
    message = build_message(settings=settings, delivery_id=f"d-{i}", recipient=sample["recipient"], **sample["mail"])
    if date is not None:
        message.replace_header("Date", date)
    if boundary is not None and message.is_multipart():
        message.set_boundary(boundary)
    sender = extract_sender(message)
    assert sender is not None
    return Mail(sender=sender, recipients=extract_recipients(message), content=flatten_message(message))


def new(settings: Settings, sample: Sample, i: int, *, boundary: str | None = None, date: str | None = None) -> Mail:
    return build_mail(
        settings=settings, delivery_id=f"d-{i}", recipient=sample["recipient"], boundary=boundary, date=date,
        **sample["mail"],
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    settings = Settings(environment="development", mail_from="Einkauf Müller GmbH <einkauf@backoffice.example>")
    recipients = ["vendor@example.com", "Jörg Müller <joerg@example.com>", "Rita <rita@example.com>"]
    emails = [{"recipient": r, "mail": m} for m in samples() for r in recipients]
    date = formatdate(localtime=False)
    for i, email in enumerate(emails):
        boundary = f"==============={i:019d}=="
        expected = old(settings, email, i, boundary=boundary, date=date)
        got = new(settings, email, i, boundary=boundary, date=date)
        assert got == expected, (email, expected.content.decode(), got.content.decode())
    variants = {"old: email package + aiosmtplib flatten": old, "new: bytes written directly": new}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, fn in variants.items():
            started = time.process_time()
            for i in range(args.n):
                fn(settings, emails[i % len(emails)], i)
            cpu[name].append((time.process_time() - started) / args.n * 1000)
    load = os.getloadavg()
    print(f"an email prepared for SMTP, {args.rounds} x {args.n} per variant, alternated; load {load[0]:.2f}")
    for name in variants:
        print(f"  {name:42} CPU {statistics.median(cpu[name]):6.3f} ms")
    first, second = variants
    print(f"  new/old {statistics.median(cpu[second]) / statistics.median(cpu[first]):.2f}")


if __name__ == "__main__":
    main()
