"""Who is calling: the core's identity interface, provided by a plugin (the registry's).

Routes depend on `CurrentIdentity` (may be None) or `require_identity` / `require_role(…)`.
The provider is asked once per request (the answer is kept in the request's scope, where the
caching middleware also reads it); without one, every caller is anonymous.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from extensions.errors import AuthenticationRequired, PermissionDenied
from extensions.i18n import _
from extensions.services import services_of

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

ROLES = ("user", "referent", "legal_representative", "instructor", "admin", "relay")


@dataclass(frozen=True)
class Identity:
    """A signed-in account and what it may do."""

    account_id: int
    email: str
    name: str
    entity_id: int | None = None
    entity_name: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    via: str = "session"  # session, bearer, apikey, oidc

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))


class IdentityProvider(Protocol):
    async def identify(self, request: Request) -> Identity | None:
        """The caller's identity from the request's credential, or None when anonymous.

        An invalid or revoked credential raises AuthenticationRequired with the reason.
        """

    async def account(self, account_id: int) -> Identity | None:
        """An account's identity now, None when it may no longer act (a signed URL made for
        it is then refused)."""

    async def languages(self, session: AsyncSession, addresses: Sequence[str]) -> dict[str, str]:
        """The language stored with the account of each address that has one (lower case),
        read in the caller's transaction: what its mails are written in (`Mailing.languages`,
        for every plugin's mails)."""


# Declared so that the OpenAPI document shows how to authenticate ("Authorize" in /api.html);
# the identity provider reads the credentials itself.
bearer_scheme = HTTPBearer(auto_error=False, description="A token from POST /auth/token")
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="A personal API key")


async def get_identity(
    request: Request,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)] = None,
    _key: Annotated[str | None, Security(api_key_scheme)] = None,
) -> Identity | None:
    if "identity" not in request.scope:
        provider = services_of(request).identity
        request.scope["identity"] = await provider.identify(request) if provider else None
    identity: Identity | None = request.scope["identity"]
    return identity


CurrentIdentity = Annotated[Identity | None, Depends(get_identity)]


async def require_identity(identity: CurrentIdentity) -> Identity:
    if identity is None:
        raise AuthenticationRequired(
            _("Connectez-vous (session) ou envoyez `Authorization: Bearer <jeton>`.")
        )
    return identity


SignedIn = Annotated[Identity, Depends(require_identity)]


def require_role(*roles: str) -> Callable[..., Coroutine[Any, Any, Identity]]:
    """A dependency that admits only identities holding one of these roles."""

    async def dependency(identity: SignedIn) -> Identity:
        if not identity.has(*roles):
            raise PermissionDenied(
                _("Il faut pour cela le rôle %(roles)s.", roles=_(" ou ").join(roles))
            )
        return identity

    return dependency
