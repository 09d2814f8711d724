"""The registry as the core's identity provider: bearer tokens and API keys for scripts,
a session cookie for pages, and OpenID Connect access tokens when configured. Credentials
are checked against the account's and the entity's status on every request, so revoking or
deactivating takes effect at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
import jwt
from fastapi import Request

from extensions.errors import AuthenticationRequired, PermissionDenied
from extensions.i18n import LANGUAGES, _
from extensions.identity import Identity
from extensions.services import services_of
from extensions.signing import same
from extensions.web import CSRF_COOKIE, is_page
from registry_plugin.domain import accounts, auth
from registry_plugin.domain.context import service_context, stored_languages
from registry_plugin.settings import OidcSettings
from registry_plugin.web import audit_address

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

    from extensions.database import Database

SESSION_COOKIE = "dinamis_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def credential(request: Request) -> tuple[str, tuple[str, ...]] | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip(), ("bearer", "apikey")
    if key := request.headers.get("x-api-key", "").strip():
        return key, ("apikey",)
    if session := request.cookies.get(SESSION_COOKIE):
        return session, ("session",)
    return None


class OidcVerifier:
    """Access tokens of an external OpenID Connect provider: signature (JWKS), issuer,
    audience and expiry checked by PyJWT, and the e-mail said verified by the provider; the
    keys are fetched once and kept."""

    def __init__(self, settings: OidcSettings) -> None:
        self.settings = settings
        self.keys = jwt.PyJWKClient(str(settings.jwks_url), cache_keys=True, lifespan=3600)

    async def email(self, token: str) -> str:
        try:
            key = await anyio.to_thread.run_sync(self.keys.get_signing_key_from_jwt, token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=self.settings.algorithms,
                issuer=self.settings.issuer,
                audience=self.settings.audience,
                options={"require": ["exp", "iss", "aud"]},
                leeway=30,
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationRequired(_("Jeton OIDC refusé : %(exc)s", exc=exc)) from exc
        email = claims.get(self.settings.email_claim)
        if not isinstance(email, str) or "@" not in email:
            raise AuthenticationRequired(
                _(
                    "Le jeton OIDC ne porte pas d'adresse e-mail (%(email_claim)s).",
                    email_claim=self.settings.email_claim,
                )
            )
        verified = self.settings.email_verified_claim
        if verified is not None and claims.get(verified) is not True:
            raise AuthenticationRequired(
                _(
                    "Le fournisseur OIDC n'a pas vérifié l'adresse %(email)s (%(verified)s) "
                    ": elle ne peut pas ouvrir un compte DINAMIS.",
                    email=email,
                    verified=verified,
                )
            )
        return email.strip().lower()


def check_csrf_header(request: Request) -> None:
    """A browser sends the session cookie with any same-site form, JSON endpoints included: a
    state-changing API request the cookie authenticates must also carry the page's CSRF token
    (which another site cannot read). Pages check the token of their forms themselves."""
    if request.method in SAFE_METHODS or is_page(request):
        return
    sent, expected = request.headers.get(CSRF_HEADER, ""), request.cookies.get(CSRF_COOKIE, "")
    if not sent or not expected or not same(sent, expected):
        raise PermissionDenied(
            _(
                "Requête authentifiée par le cookie de session sans jeton CSRF valide : "
                "envoyez l'en-tête %(CSRF_HEADER)s de la page, ou un jeton Bearer ou une clé "
                "d'API.",
                CSRF_HEADER=CSRF_HEADER,
            )
        )


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and not token.startswith(("dnb_", "dnk_", "dns_"))


class RegistryIdentityProvider:
    def __init__(self, oidc: OidcSettings, database: Database) -> None:
        self.oidc = OidcVerifier(oidc) if oidc.enabled else None
        self.database = database

    async def account(self, account_id: int) -> Identity | None:
        async with self.database.session() as session:
            return await auth.identify_account(session, account_id)

    async def languages(self, session: AsyncSession, addresses: Sequence[str]) -> dict[str, str]:
        return await stored_languages(session, addresses)

    async def identify(self, request: Request) -> Identity | None:
        """A stale session cookie makes an anonymous visitor (pages then offer to sign in);
        a bad token or API key is refused with the reason. A signed-in reader who switches
        language (`?lang=`) has it kept with their account, for their mails."""
        found = credential(request)
        if found is None:
            return None
        token, kinds = found
        if kinds == ("session",):
            check_csrf_header(request)
        if self.oidc is not None and "bearer" in kinds and looks_like_jwt(token):
            email = await self.oidc.email(token)
            async with self.database.session() as session:
                return await auth.identify_email(session, email)
        try:
            identity, used = await self.look_up(token, kinds)
        except AuthenticationRequired:
            if kinds == ("session",):
                return None
            raise
        if used is not None:
            async with self.database.write() as conn:
                await conn.execute(
                    "UPDATE registry.auth_tokens SET last_used_at = now() WHERE id = $1", used
                )
        if kinds == ("session",) and (switched := request.query_params.get("lang")) in LANGUAGES:
            await self.keep_language(request, identity, switched)
        return identity

    async def keep_language(self, request: Request, identity: Identity, lang: str) -> None:
        """The switch changes the account's language as its page does: audited, once."""
        async with self.database.session() as session:
            ctx = service_context(services_of(request), session, identity, audit_address(request))
            await accounts.choose_language(ctx, lang)
            await ctx.commit()

    async def look_up(self, token: str, kinds: tuple[str, ...]) -> tuple[Identity, int | None]:
        """The credential's identity, read from the replica; one the replica does not know
        (made a moment ago, not replayed yet) is looked up on the primary."""
        try:
            async with self.database.read() as conn:
                return await auth.identify(conn, token, kinds)
        except AuthenticationRequired:
            if not self.database.replicated:
                raise
        async with self.database.write() as conn:
            return await auth.identify(conn, token, kinds)
