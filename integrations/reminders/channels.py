"""Getting a reminder to a customer: email over SMTP (stdlib smtplib) and SMS through a signed webhook."""

from __future__ import annotations

import json
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

import httpx
from standardwebhooks import Webhook

from integrations.reminders.settings import SmsWebhookSettings, SmtpSettings
from integrations.reminders.templates import Message


class SendFailed(Exception):
    """The server refused the message or could not be reached; the reminder will be tried again."""


class Channel(Protocol):
    name: str

    def send(self, recipient: str, message: Message, message_id: str, meta: dict[str, str]) -> None: ...


class EmailChannel:
    name = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, recipient: str, message: Message, message_id: str, meta: dict[str, str]) -> None:
        s = self.settings
        email = EmailMessage()
        email["From"] = s.from_addr
        email["To"] = recipient
        email["Subject"] = message.subject
        email["Date"] = format_datetime(datetime.now(UTC))
        # A stable Message-ID: the same reminder keeps one identity however often it is attempted.
        email["Message-ID"] = f"<{message_id}@dispatch>"
        for key, value in meta.items():
            email[f"X-Dispatch-{key}"] = value
        email.set_content(message.body)
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout) as smtp:
                if s.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.user:
                    smtp.login(s.user, s.password or "")
                smtp.send_message(email)
        except (smtplib.SMTPException, OSError) as err:
            raise SendFailed(f"SMTP {s.host}:{s.port}: {err}") from err


class SmsWebhookChannel:
    """POSTs `{to, body, ...}` signed per the Standard Webhooks spec; `webhook-id` lets the provider dedupe."""

    name = "sms"

    def __init__(self, settings: SmsWebhookSettings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self.signer = Webhook(settings.secret)
        self.client = client or httpx.Client(timeout=settings.timeout)

    def send(self, recipient: str, message: Message, message_id: str, meta: dict[str, str]) -> None:
        payload = json.dumps({"type": "reminder.sms", "id": message_id, "to": recipient, "body": message.body, **meta})
        now = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self.signer.sign(message_id, now, payload),
        }
        try:
            response = self.client.post(self.settings.url, content=payload, headers=headers)
        except httpx.HTTPError as err:
            raise SendFailed(f"SMS webhook {self.settings.url}: {err}") from err
        if response.status_code >= 300:
            raise SendFailed(f"SMS webhook answered {response.status_code}: {response.text[:200]}")
