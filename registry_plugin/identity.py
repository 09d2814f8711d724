"""The registry as the core's identity provider: bearer tokens and API keys for scripts,
a session cookie for pages. Credentials are checked against the account's and the entity's
status on every request, so revoking or deactivating takes effect at once."""

from __future__ import annotations

from fastapi import Request

from extensions.errors import AuthenticationRequired
from extensions.identity import Identity
from registry_plugin.domain import auth
from registry_plugin.web import new_context

SESSION_COOKIE = "dinamis_session"


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


class RegistryIdentityProvider:
    async def identify(self, request: Request) -> Identity | None:
        """A stale session cookie makes an anonymous visitor (pages then offer to sign in);
        a bad token or API key is refused with the reason."""
        found = credential(request)
        if found is None:
            return None
        token, kinds = found
        async with request.app.state.sessions() as session:
            ctx = new_context(request, session)
            try:
                identity = await auth.identify(ctx, token, kinds)
            except AuthenticationRequired:
                if kinds == ("session",):
                    return None
                raise
            await session.commit()
        return identity
