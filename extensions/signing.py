"""Signed URLs for asset files: HMAC over the asset and its grant, checked without a database.

A data asset's URL carries who it was signed for, the item and asset, and its expiry, so that
GDAL/QGIS can read it with plain range requests and every download is audited. Public assets
(thumbnails, quicklooks, metadata) carry a stable signature: the same URL for everybody, so
that anonymous responses stay cacheable, and no unsigned path is ever served.

Every signature names its key (`kid`): the newest key signs, the previous ones
(`DINAMIS_PREVIOUS_SECRET_KEYS`) still verify until they are removed, so a key is rotated
without breaking the URLs in use; a retired key's URLs are refused. A signature is also no
more than its grant: the download rechecks, at most every `recheck_seconds`, that its account
may still download the item (`extensions.assets`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from extensions.errors import AuthenticationRequired, PermissionDenied
from extensions.i18n import N_, _

GRANT_PARAMETERS = ("exp", "acc", "ent", "col", "item", "asset")


class SigningSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DINAMIS_SIGNING_", extra="ignore")

    ttl_seconds: int = Field(default=3600, ge=60)
    """Lifetime of a signed URL unless the caller asks for less (or more, up to the maximum)."""
    max_ttl_seconds: int = Field(default=4 * 3600, ge=60)
    """Upper bound of a signed URL's or a collection token's lifetime: how long a leaked URL
    can be used."""
    clock_skew_seconds: int = Field(default=60, ge=0)
    """Grace after expiry, for clocks of clients and servers that disagree a little."""
    recheck_seconds: int = Field(default=60, ge=0)
    """How long a download may rely on the last check that the URL's account may still
    download the item: the bound on revocation (an account deactivated or expired, a licence
    withdrawn)."""


ALTERED = N_("Signature non valide : l'adresse a été modifiée.")


class SignatureRefused(PermissionDenied):
    """A signature that does not match, or has expired (403)."""


def same(sent: str, expected: str) -> bool:
    """A constant-time comparison that takes any text a client sends (`hmac.compare_digest`
    refuses non-ASCII strings with a TypeError)."""
    return hmac.compare_digest(sent.encode(), expected.encode())


@dataclass(frozen=True)
class Grant:
    """The right to read one asset file until `expires` (Unix time)."""

    path: str
    collection: str
    item: str
    asset: str
    account: int | None
    entity: int | None
    expires: int

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.expires, UTC)

    @property
    def expiry(self) -> str:
        return self.expires_at.isoformat().replace("+00:00", "Z")


def key_id(key: bytes) -> str:
    """A short public name of a key (a hash of it), carried by its signatures."""
    return base64.urlsafe_b64encode(hashlib.sha256(b"kid:" + key).digest()[:6]).decode()


class Signer:
    def __init__(self, secrets: Sequence[str], settings: SigningSettings | None = None) -> None:
        """`secrets`: the newest first (it signs), then the previous ones (they verify)."""
        self.settings = settings or SigningSettings()
        keys = [hashlib.sha256(b"dinamis-assets:" + s.encode()).digest() for s in secrets]
        self.keys = {key_id(key): key for key in keys}
        self.kid = key_id(keys[0])

    def _mac(self, *parts: object, kid: str | None = None) -> str:
        key = self.keys.get(kid or self.kid)
        if key is None:
            raise SignatureRefused(
                _(
                    "Cette adresse est signée d'une clé que ce serveur n'a plus : signez-la à nouveau."
                )
            )
        message = "\x1f".join("" if p is None else str(p) for p in parts).encode()
        digest = hmac.new(key, message, hashlib.sha256).digest()[:24]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def expires(self, seconds: int | None = None) -> int:
        ttl = min(seconds or self.settings.ttl_seconds, self.settings.max_ttl_seconds)
        return int(time.time()) + max(ttl, 1)

    # -- asset files -------------------------------------------------------------------------

    def public(self, path: str) -> dict[str, str]:
        return {"kid": self.kid, "sig": self._mac("public", path)}

    def sign(self, grant: Grant) -> dict[str, str]:
        values = self.grant_values(grant)
        return {**values, "kid": self.kid, "sig": self._mac("grant", grant.path, *values.values())}

    @staticmethod
    def grant_values(grant: Grant) -> dict[str, str]:
        return {
            "exp": str(grant.expires),
            "acc": "" if grant.account is None else str(grant.account),
            "ent": "" if grant.entity is None else str(grant.entity),
            "col": grant.collection,
            "item": grant.item,
            "asset": grant.asset,
        }

    def verify(self, path: str, query: Any) -> Grant | None:
        """The grant of a signed data URL, None for a public asset's URL; refuses anything
        unsigned, altered or expired."""
        signature = query.get("sig")
        if not signature:
            raise AuthenticationRequired(
                _(
                    "Ce fichier demande une adresse signée : prenez le href de l'asset dans "
                    "l'item en étant connecté, ou demandez GET /sign?href=… ."
                )
            )
        kid = query.get("kid") or self.kid
        if "exp" not in query:
            if same(signature, self._mac("public", path, kid=kid)):
                return None
            raise SignatureRefused(_(ALTERED))
        values = [query.get(name, "") for name in GRANT_PARAMETERS]
        if not same(signature, self._mac("grant", path, *values, kid=kid)):
            raise SignatureRefused(_(ALTERED))
        expires = int(values[0]) if values[0].isdigit() else 0
        if time.time() > expires + self.settings.clock_skew_seconds:
            raise SignatureRefused(
                _("Cette adresse signée a expiré : signez l'asset à nouveau (GET /sign?href=…).")
            )
        return Grant(
            path=path,
            collection=values[3],
            item=values[4],
            asset=values[5],
            account=int(values[1]) if values[1] else None,
            entity=int(values[2]) if values[2] else None,
            expires=expires,
        )

    def stamp(self, purpose: str, *parts: object) -> str:
        """A signature of any values, for a purpose (e.g. an upstream URL we agree to fetch)."""
        return self._mac(purpose, *parts)

    def check(self, purpose: str, value: object, signature: str) -> bool:
        return same(signature, self._mac(purpose, value))

    @staticmethod
    def digest(signature: str) -> str:
        """What the audit keeps of a signature (never the signature itself)."""
        return hashlib.sha256(signature.encode()).hexdigest()

    # -- collection tokens (GET /token/{collection}) -------------------------------------------

    def token(self, collection: str, account: int | None, entity: int | None, expires: int) -> str:
        parts = [
            str(expires),
            "" if account is None else str(account),
            "" if entity is None else str(entity),
        ]
        return ".".join([*parts, self.kid, self._mac("token", collection, *parts)])

    def verify_token(self, token: str, collection: str) -> tuple[int | None, int | None, int]:
        """(account, entity, expires) of a collection token valid for `collection`."""
        parts = token.split(".")
        if len(parts) != 5 or not same(
            parts[4], self._mac("token", collection, *parts[:3], kid=parts[3])
        ):
            raise SignatureRefused(_("Jeton non valide pour cette collection."))
        expires = int(parts[0]) if parts[0].isdigit() else 0
        if time.time() > expires + self.settings.clock_skew_seconds:
            raise SignatureRefused(_("Ce jeton a expiré : redemandez GET /token/{collection}."))
        return (int(parts[1]) if parts[1] else None, int(parts[2]) if parts[2] else None, expires)
