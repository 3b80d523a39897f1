"""The push channels: a webhook POST signed as Standard Webhooks specifies, and an e-mail through SMTP.

Each ``send_*`` returns normally when the receiver took the message and raises ``SendError`` when it did not (the
outbox then retries, with backoff, until it gives up)."""

from __future__ import annotations

import base64
import secrets
import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate

import httpx
from standardwebhooks.webhooks import Webhook

from app.config import Settings
from app.errors import Blocked, SendError
from app.models import Notification, WebhookEndpoint
from app.services.notifications import netguard, render

USER_AGENT = "clinmatch-webhooks/1"


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signatures(endpoint: WebhookEndpoint, msg_id: str, ts: datetime, body: str, now: datetime) -> str:
    """``v1,<sig>`` with the current secret, and with the previous one while its grace period lasts (rotation)."""
    sigs = [Webhook(endpoint.secret).sign(msg_id, ts, body)]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        sigs.append(Webhook(endpoint.previous_secret).sign(msg_id, ts, body))
    return " ".join(sigs)


def webhook_request(endpoint: WebhookEndpoint, n: Notification, msg_id: str, now: datetime) -> tuple[dict, str]:
    body = render.webhook_body(n.id, n.organisation_id, n.kind, n.title, n.link, n.created_at.isoformat(), n.payload)
    ts = now.replace(microsecond=0)
    headers = {"content-type": "application/json", "user-agent": USER_AGENT, "webhook-id": msg_id,
               "webhook-timestamp": str(int(ts.timestamp())),
               "webhook-signature": signatures(endpoint, msg_id, ts, body, now)}
    return headers, body


def _reason(e: httpx.HTTPError) -> str:
    """A short, fixed reason for a failed request: never what the receiver (or an address behind it) said."""
    if isinstance(e, httpx.TimeoutException):
        return "timed out"
    text = str(e).lower()
    if isinstance(e, httpx.ConnectError):
        if "refused" in text:
            return "connection refused"
        if "ssl" in text or "certificate" in text or "tls" in text:
            return "TLS handshake failed"
        return "connection failed"
    if isinstance(e, httpx.RemoteProtocolError | httpx.LocalProtocolError):
        return "HTTP protocol error"
    return "request failed"


def send_webhook(client: httpx.Client, settings: Settings, endpoint: WebhookEndpoint, n: Notification,
                 msg_id: str) -> int:
    """POST the signed message; the URL is checked again here (scheme, credentials), its address by the client's
    transport (netguard.GuardedTransport). Only the status and a short reason are kept, never the reply's body."""
    headers, body = webhook_request(endpoint, n, msg_id, datetime.now(UTC))
    try:
        netguard.check_url_form(endpoint.url, netguard.Rules.from_settings(settings))
        with client.stream("POST", endpoint.url, content=body.encode(), headers=headers) as r:
            code = r.status_code  # the body is never read: closing the stream drops it
    except Blocked as e:
        raise SendError(str(e)[:500]) from e
    except httpx.HTTPError as e:
        raise SendError(_reason(e)) from e
    if not 200 <= code < 300:
        raise SendError(f"HTTP {code} {httpx.codes.get_reason_phrase(code)}".strip(), code)
    return code


def email_message(settings: Settings, n: Notification, to: str, language: str, msg_id: str) -> EmailMessage:
    items = n.payload.get("items", [])
    rhythm = n.payload.get("rhythm", "instant")
    title = render.title(n.kind, items, language, rhythm) if items else n.title
    text, html = render.email(n.kind, title, items, language, n.link)
    mail = EmailMessage()
    mail["Subject"] = title
    mail["From"] = settings.mail_from
    mail["To"] = to
    mail["Date"] = formatdate(localtime=False)
    domain = settings.mail_from.rsplit("@", 1)[-1].strip("> ") or "clinmatch"
    mail["Message-ID"] = f"<{msg_id}@{domain}>"
    mail["X-Clinmatch-Idempotency-Key"] = msg_id
    mail["Content-Language"] = language
    mail.set_content(text)
    mail.add_alternative(html, subtype="html")
    return mail


def send_email(settings: Settings, n: Notification, to: str, language: str, msg_id: str) -> int:
    mail = email_message(settings, n, to, language, msg_id)
    smtp_cls = smtplib.SMTP_SSL if settings.smtp_ssl else smtplib.SMTP
    try:
        with smtp_cls(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds) as smtp:
            if settings.smtp_starttls and not settings.smtp_ssl:
                smtp.starttls()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password or "")
            refused = smtp.send_message(mail)
    except (smtplib.SMTPException, OSError) as e:
        code = getattr(e, "smtp_code", None)
        raise SendError(f"{type(e).__name__}: {e}"[:500], code) from e
    if refused:
        raise SendError(f"refused: {refused}"[:500])  # pragma: no cover - one recipient: refusal raises above
    return 250
