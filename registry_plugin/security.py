"""Passwords, credentials and e-mailed links.

- Passwords: argon2id hashes; a policy of length and character classes.
- Credentials (sessions, bearer tokens, API keys): random tokens, stored only as SHA-256 so
  a database leak reveals none, revocable at once.
- Links sent by e-mail: signed (itsdangerous), expiring, and single-use (their nonce is
  recorded when used).
"""

from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from extensions.i18n import _

hasher = PasswordHasher()
# A real hash to verify against when the account does not exist: sign-in takes the same time
# whether the e-mail is known or not.
DUMMY_HASH = hasher.hash("not-a-password-" + secrets.token_hex(8))

TOKEN_PREFIXES = {"session": "dns_", "bearer": "dnb_", "apikey": "dnk_"}


def hash_password(password: str) -> str:
    return hasher.hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    try:
        return hasher.verify(password_hash or DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_problems(password: str, email: str = "", min_length: int = 10) -> list[str]:
    """Why a password is too weak (empty when it is acceptable), in French."""
    problems = []
    if len(password) < min_length:
        problems.append(_("au moins %(min_length)s caractères", min_length=min_length))
    classes = sum(
        bool(re.search(pattern, password)) for pattern in (r"[a-z]", r"[A-Z]", r"\d", r"[^\w\s]")
    )
    if classes < 3:
        problems.append(
            _("au moins 3 types de caractères parmi minuscules, majuscules, chiffres et symboles")
        )
    local = email.split("@")[0].casefold()
    if len(local) >= 4 and local in password.casefold():
        problems.append(_("ne pas contenir votre adresse e-mail"))
    return problems


def new_token(kind: str) -> str:
    return TOKEN_PREFIXES[kind] + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
