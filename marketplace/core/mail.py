"""Outgoing mail. Printed to the log by default; SMTP when MAIL_URL is set.

MAIL_URL: smtp://user:password@host:port (smtps:// for implicit TLS,
?starttls=1 for STARTTLS). Tests read `current_app.extensions["mail_outbox"]`.
"""
import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlparse

from flask import current_app

log = logging.getLogger("marketplace.mail")


def send_mail(to: str, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_FROM"]
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    if current_app.testing:
        current_app.extensions.setdefault("mail_outbox", []).append(msg)
    url = current_app.config.get("MAIL_URL")
    if not url:
        log.info("mail (not sent, MAIL_URL unset)\nTo: %s\nSubject: %s\n\n%s", to, subject, body)
        return
    _send_smtp(url, msg)


def _send_smtp(url: str, msg: EmailMessage) -> None:
    parts = urlparse(url)
    cls = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    with cls(parts.hostname, parts.port or (465 if parts.scheme == "smtps" else 25), timeout=10) as smtp:
        if parse_qs(parts.query).get("starttls") == ["1"]:
            smtp.starttls()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(msg)
