"""Secrets inside stored mails: a single-use link is for its recipient alone.

The outbox keeps such a secret sealed (encrypted with a key derived from the site's secret,
by `cryptography`'s Fernet) inside the stored body: whoever reads the outbox (instructors, a
database dump) sees it masked; the SMTP delivery opens it, then keeps the masked copy only.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MASK = "[masqué]"
SEALED = re.compile(r"\[scellé:([\w=-]+)\]")


def derived(secret_key: str) -> bytes:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"dinamis-mail-seal")
    return base64.urlsafe_b64encode(key.derive(secret_key.encode()))


class MailSeal:
    """Seals a secret into a mail's body, and opens the sealed parts for its recipient."""

    def __init__(self, secret_keys: Sequence[str]) -> None:
        """`secret_keys`: the site's keys, the sealing one first (the others still open)."""
        self.fernet = MultiFernet([Fernet(derived(key)) for key in secret_keys])

    def seal(self, secret: str) -> str:
        return f"[scellé:{self.fernet.encrypt(secret.encode()).decode()}]"

    def open(self, body: str) -> str:
        """The body as its recipient reads it; a part sealed under another key stays masked."""

        def opened(found: re.Match[str]) -> str:
            try:
                return self.fernet.decrypt(found.group(1)).decode()
            except InvalidToken:
                return MASK

        return SEALED.sub(opened, body)


def masked(body: str) -> str:
    """The body as anyone but its recipient may read it."""
    return SEALED.sub(MASK, body)
