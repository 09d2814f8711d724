"""Security of the registry: rate limits, CSRF on every form, session cookies, error pages,
and production mode refusing the demo accounts."""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from extensions.ratelimit import RateLimitSettings
from extensions.settings import Settings
from extensions.web.settings import WebSettings
from tests.conftest import make_app
from tests.registry import DEMO_PASSWORD, FORMATION_RD, mails, unique


def shown(response: httpx.Response) -> str:
    """The page's text as a reader sees it (entities unescaped)."""
    return html.unescape(response.text)


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def page_token(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    found = CSRF.search(page.text)
    assert found, "the page has no CSRF token"
    return found.group(1)


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = DEMO_PASSWORD
) -> httpx.Response:
    token = await page_token(client, "/connexion")
    return await client.post(
        "/connexion", data={"csrf_token": token, "email": email, "password": password}
    )


async def test_sign_in_and_verification_mails_are_rate_limited(
    database: str, storage_root: Path
) -> None:
    limits = RateLimitSettings(sign_in="3/minute", mail="2/hour")
    app = make_app(database, storage_root, rate_limits=limits)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as http,
    ):
        for _ in range(3):
            wrong = await http.post("/auth/token", data={"username": FORMATION_RD, "password": "x"})
            assert wrong.status_code == 401
        blocked = await http.post(
            "/auth/token", data={"username": FORMATION_RD, "password": DEMO_PASSWORD}
        )
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) > 0
        assert "Trop de tentatives" in blocked.json()["description"]

        email = unique("flood")
        statuses = [
            (
                await http.post(
                    "/registry/email-verifications", json={"email": email, "purpose": "adhesion"}
                )
            ).status_code
            for _ in range(3)
        ]
        assert statuses == [202, 202, 429]
        # The page form is limited by the same counters.
        token = CSRF.search((await http.get("/portail/verification")).text).group(1)  # type: ignore[union-attr]
        page = await http.post("/portail/verification", data={"csrf_token": token, "email": email})
        assert page.status_code == 429 and "Trop de tentatives" in shown(page)


async def test_forms_refuse_a_missing_or_foreign_csrf_token(
    client: httpx.AsyncClient, pages: httpx.AsyncClient
) -> None:
    email = unique("csrf")
    no_token = await pages.post("/portail/verification", data={"email": email})
    assert no_token.status_code == 403
    assert no_token.headers["content-type"].startswith("text/html")
    assert "rechargez la page" in shown(no_token)
    await page_token(pages, "/portail/verification")
    forged = await pages.post(
        "/portail/verification", data={"email": email, "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    assert await mails(client, email) == []
    signed_in = await pages.post(
        "/connexion", data={"email": FORMATION_RD, "password": DEMO_PASSWORD}
    )
    assert signed_in.status_code == 403 and "dinamis_session" not in signed_in.cookies


async def test_session_cookie_is_http_only_and_revoked_on_sign_out(
    pages: httpx.AsyncClient,
) -> None:
    response = await sign_in(pages, FORMATION_RD)
    assert response.status_code == 303 and response.headers["location"] == "/compte"
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith("dinamis_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=43200" in cookie
    session = pages.cookies["dinamis_session"]
    account = await pages.get("/compte")
    assert account.status_code == 200 and "Jane Doe" in shown(account)
    token = CSRF.search(account.text).group(1)  # type: ignore[union-attr]
    out = await pages.post("/deconnexion", data={"csrf_token": token})
    assert out.status_code == 303
    # The old cookie, replayed, no longer opens anything.
    pages.cookies.set("dinamis_session", session)
    assert (await pages.get("/compte")).status_code == 303
    assert (await pages.get("/auth/me")).status_code == 401


async def test_sign_in_page_says_why_an_account_may_not_enter(pages: httpx.AsyncClient) -> None:
    pending = await sign_in(pages, "nouveau.membre@formation.example")
    assert pending.status_code == 401 and "attend la validation" in shown(pending)
    wrong = await sign_in(pages, FORMATION_RD, "wrong")
    assert wrong.status_code == 401 and "incorrect" in shown(wrong)
    assert "dinamis_session" not in pages.cookies


async def test_sign_in_only_returns_to_this_site(pages: httpx.AsyncClient) -> None:
    token = await page_token(pages, "/connexion?suivant=https://evil.example/")
    response = await pages.post(
        "/connexion",
        data={
            "csrf_token": token,
            "email": FORMATION_RD,
            "password": DEMO_PASSWORD,
            "next": "//evil.example/",
        },
    )
    assert response.headers["location"] == "/compte"


async def test_pages_show_errors_as_pages(pages: httpx.AsyncClient) -> None:
    bad_link = await pages.get("/portail/verification/not-a-token")
    assert bad_link.status_code == 400 and "Ce lien n'est pas valide" in shown(bad_link)
    assert bad_link.headers["content-type"].startswith("text/html")
    anonymous = await pages.get("/registre/instruction")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/connexion?suivant=/registre/instruction"
    await sign_in(pages, "bruce.wayne@formation.example")
    forbidden = await pages.get("/registre/instruction")
    assert forbidden.status_code == 403 and "instance DINAMIS" in shown(forbidden)
    other_entity = await pages.get("/registre/entite")
    assert other_entity.status_code == 403
    no_draft = await pages.get("/portail/adhesion/entite")
    assert no_draft.status_code == 400 and "vérifiez à nouveau votre adresse" in shown(no_draft)
    stale = httpx.Cookies({"dinamis_session": "dns_stale"})
    pages.cookies = stale
    assert (await pages.get("/portail")).status_code == 200


async def test_referent_page_refuses_another_entitys_account(
    client: httpx.AsyncClient, pages: httpx.AsyncClient
) -> None:
    found = await client.get("/registry/entities", params={"q": "Formation_6_11"})
    (formation,) = [e["id"] for e in found.json()["entities"] if e["acronym"] == "Formation_6_11"]
    accounts = await client.get(
        f"/registry/entities/{formation}/accounts",
        headers={
            "Authorization": "Bearer "
            + (
                await client.post(
                    "/auth/token", data={"username": FORMATION_RD, "password": DEMO_PASSWORD}
                )
            ).json()["access_token"]
        },
    )
    pending = next(a for a in accounts.json() if a["email"] == "nouveau.membre@formation.example")
    await sign_in(pages, "sans.pleiades@autre.example")  # referent of another entity
    token = await page_token(pages, "/compte")
    refused = await pages.post(
        f"/registre/comptes/{pending['id']}/valider", data={"csrf_token": token}
    )
    assert refused.status_code == 403
    still = await client.get(
        f"/registry/entities/{formation}/accounts",
        headers={"Authorization": accounts.request.headers["Authorization"]},
    )
    assert next(a for a in still.json() if a["id"] == pending["id"])["status"] == "pending"


def test_production_refuses_a_default_secret() -> None:
    with pytest.raises(ValueError, match="DINAMIS_SECRET_KEY"):
        Settings(mode="production")


async def test_production_refuses_to_start_with_the_demo_accounts(
    database: str, storage_root: Path, registry_demo: list[str]
) -> None:
    web = WebSettings(secret_key=SecretStr("s" * 40), public_url="https://dinamis.example")
    app = make_app(database, storage_root, web=web, mode="production")
    with pytest.raises(RuntimeError, match="demo accounts"):
        async with app.router.lifespan_context(app):
            pass
