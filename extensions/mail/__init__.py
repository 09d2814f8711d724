"""Mail: every notification is rendered from a Jinja2 template into the outbox, in the same
transaction as the change it announces, then delivered by a job.

With SMTP configured (DINAMIS_MAIL_SMTP_HOST), delivery retries with backoff until it
succeeds; without it, mails stay in the outbox. Secrets in a mail (single-use links) are
stored sealed (`seal.py`): instructors reading the outbox see them masked; only the SMTP
message, and in development without SMTP the development mailbox, carry them. A periodic
sweep re-queues messages whose delivery job was lost: no message is ever dropped.
"""

from __future__ import annotations

from extensions.mail.outbox import Mailing, OutboxMessage, deliver, mail_tasks, queue_mail
from extensions.mail.seal import MailSeal, masked
from extensions.mail.settings import MailSettings

__all__ = [
    "MailSeal",
    "MailSettings",
    "Mailing",
    "OutboxMessage",
    "deliver",
    "mail_tasks",
    "masked",
    "queue_mail",
]
