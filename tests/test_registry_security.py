"""Security of the registry: rate limits, CSRF on every form, session cookies, error pages,
and production mode refusing the demo accounts."""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from extensions.mail import MailSettings
from extensions.ratelimit import RateLimitSettings
from extensions.settings import Settings
from extensions.web.settings import WebSettings
from tests.conftest import make_app
from tests.registry import (
    DEMO_PASSWORD,
    FORMATION_RD,
    INSTRUCTOR,
    PASSWORD,
    adhesion,
    bearer,
    link,
    mails,
    member,
    submit,
    unique,
)


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
    database: str, storage_root: Path, rate_limit_counters: None
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


def test_production_refuses_a_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DINAMIS_SECRET_KEY")
    with pytest.raises(ValueError, match="DINAMIS_SECRET_KEY"):
        Settings(mode="production")


async def test_production_refuses_to_start_with_the_demo_accounts(
    database: str, storage_root: Path, registry_demo: list[str]
) -> None:
    web = WebSettings(secret_key=SecretStr("s" * 40), public_url="https://dinamis.example")
    mail = MailSettings(smtp_host="127.0.0.1")
    app = make_app(
        database,
        storage_root,
        web=web,
        mail=mail,
        rate_limits=RateLimitSettings(),
        mode="production",
    )
    with pytest.raises(RuntimeError, match="demo accounts"):
        async with app.router.lifespan_context(app):
            pass


# -- the security review's defects (issue 15) ----------------------------------------------------

TOKEN_IN_LINK = r"{path}/[\w-]{{20,}}\.[\w.-]+"


def live_link(body: str, path: str) -> bool:
    """Whether `body` holds a usable single-use link to `path` (a token, not its mask)."""
    return re.search(TOKEN_IN_LINK.format(path=re.escape(path)), body) is not None


async def test_instructors_never_read_single_use_links(
    client: httpx.AsyncClient, pages: httpx.AsyncClient
) -> None:
    """An instructor could reset anyone's password and follow the link, or e-sign an RL's
    acceptance, from the outbox: the stored mails show these links masked; only their
    recipient (here the development mailbox) gets them."""
    member_id, email, _ = await member(client, "Formation_6_11", [])
    assert (await client.post("/auth/password-resets", json={"email": email})).status_code == 202
    verified = unique("verify")
    await client.post(
        "/registry/email-verifications", json={"email": verified, "purpose": "adhesion"}
    )
    body = adhesion()
    rl = body["legal_representative"]["email"]
    assert (await submit(client, body, unique("referent"))).status_code == 201

    mailed = {
        email: "/connexion/nouveau-mot-de-passe",
        verified: "/portail/verification",
        rl: "/portail/adhesion/validation",
    }
    await sign_in(pages, INSTRUCTOR)
    for to, path in mailed.items():
        (newest, *_) = await mails(client, to)
        assert path in newest["body"] and "[masqué]" in newest["body"], newest["body"]
        assert not live_link(newest["body"], path), newest["body"]
        desk = await pages.get("/registre/courriels", params={"a": to})
        assert desk.status_code == 200 and path in shown(desk)
        assert not live_link(shown(desk), path)
        # The recipient's copy (the development mailbox) carries the working link.
        mailbox = await pages.get("/portail/courriels", params={"a": to})
        assert live_link(mailbox.text, path) and "Liens personnels" in shown(mailbox)
    token = await link(client, email, "/connexion/nouveau-mot-de-passe")
    new = "Nouveau#Mot2Passe"
    done = await client.post(
        "/auth/password-resets/confirm",
        json={"token": token, "password": new, "password_confirmation": new},
    )
    assert done.status_code == 204, done.text
    assert member_id


async def test_a_password_reset_or_change_revokes_api_keys(client: httpx.AsyncClient) -> None:
    """API keys (and other sessions) stop working once the password is reset or changed,
    and the owner is told by mail; the session that changed it stays signed in."""
    _, email, key = await member(client, "Formation_6_11", [])
    assert (await client.get("/auth/me", headers={"X-API-Key": key})).status_code == 200
    assert (await client.post("/auth/password-resets", json={"email": email})).status_code == 202
    token = await link(client, email, "/connexion/nouveau-mot-de-passe")
    new = "Nouveau#Mot2Passe"
    reset = await client.post(
        "/auth/password-resets/confirm",
        json={"token": token, "password": new, "password_confirmation": new},
    )
    assert reset.status_code == 204
    after = await client.get("/auth/me", headers={"X-API-Key": key})
    assert after.status_code == 401 and "révoqué" in after.json()["description"]
    (told, *_) = await mails(client, email)
    assert "mot de passe" in told["subject"] and "clé" in told["body"], told

    current = await bearer(client, email, new)
    other = await bearer(client, email, new)
    second = (await client.post("/auth/api-keys", json={"name": "QGIS"}, headers=current)).json()[
        "key"
    ]
    changed = await client.post(
        "/auth/password",
        json={"current_password": new, "password": PASSWORD, "password_confirmation": PASSWORD},
        headers=current,
    )
    assert changed.status_code == 204
    assert (await client.get("/auth/me", headers={"X-API-Key": second})).status_code == 401
    assert (await client.get("/auth/me", headers=other)).status_code == 401
    assert (await client.get("/auth/me", headers=current)).status_code == 200
    keys = (await client.get("/auth/api-keys", headers=current)).json()
    assert keys and all(k["revoked_at"] for k in keys)


async def test_the_json_api_wants_a_csrf_token_with_the_session_cookie(
    client: httpx.AsyncClient, pages: httpx.AsyncClient
) -> None:
    """A same-site form could make a signed-in referent's browser POST to the JSON API:
    state-changing requests authenticated by the session cookie need the page's CSRF token
    in `X-CSRF-Token`; bearer tokens and API keys need none."""
    member_id, _, key = await member(client, "Formation_6_11", [])
    assert (await sign_in(pages, FORMATION_RD)).status_code == 303
    assert (await pages.get("/auth/me")).status_code == 200  # reading needs no token
    forged = await pages.post(f"/registry/accounts/{member_id}/deactivate")
    assert forged.status_code == 403 and "X-CSRF-Token" in forged.json()["description"]
    wrong = await pages.post(
        f"/registry/accounts/{member_id}/deactivate", headers={"X-CSRF-Token": "forged"}
    )
    assert wrong.status_code == 403
    assert (await client.get("/auth/me", headers={"X-API-Key": key})).status_code == 200
    token = await page_token(pages, "/compte")
    done = await pages.post(
        f"/registry/accounts/{member_id}/deactivate", headers={"X-CSRF-Token": token}
    )
    assert done.status_code == 200 and done.json()["status"] == "deactivated"
    again = await client.post(
        f"/registry/accounts/{member_id}/reactivate", headers=await bearer(client, FORMATION_RD)
    )
    assert again.status_code == 200


async def test_an_attacker_cannot_lock_a_victim_out(
    database: str,
    storage_root: Path,
    registry_demo: list[str],
    monkeypatch: pytest.MonkeyPatch,
    rate_limit_counters: None,
) -> None:
    """Sign-in attempts were counted per account: anyone could block its owner. They are
    counted per address, so failures from elsewhere do not block the victim; past the
    account's ceiling (every address together), only addresses the account signed in from
    before are let through."""
    monkeypatch.setenv("DINAMIS_REGISTRY_SIGN_IN_CEILING", "8/hour")
    app = make_app(database, storage_root, rate_limits=RateLimitSettings(sign_in="3/minute"))

    def at(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 4321))
        return httpx.AsyncClient(transport=transport, base_url="http://t")

    async def attempt(address: str, password: str) -> int:
        async with at(address) as http:
            response = await http.post(
                "/auth/token", data={"username": victim, "password": password}
            )
            return response.status_code

    async with app.router.lifespan_context(app):
        async with at("127.0.0.1") as http:  # the development mailbox answers only here
            _, victim, _ = await member(http, "Formation_6_11", [])
        assert await attempt("192.0.2.10", PASSWORD) == 200  # the victim's usual address
        assert [await attempt("203.0.113.1", "guess") for _ in range(4)] == [401, 401, 401, 429]
        assert await attempt("192.0.2.10", PASSWORD) == 200
        statuses = [await attempt(f"198.51.100.{n}", "guess") for n in range(1, 8)]
        assert statuses[-1] == 429, statuses  # the ceiling, reached from many addresses
        assert await attempt("192.0.2.10", PASSWORD) == 200
        assert await attempt("198.51.100.200", PASSWORD) == 429


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/registry/adhesions/{id}/act"),
        ("GET", "/registry/missions/{id}/description"),
        ("POST", "/registry/accounts/{id}/deactivate"),
        ("POST", "/registry/accounts/{id}/validate"),
        ("PUT", "/registry/accounts/{id}/expiry"),
        ("POST", "/registry/partnerships/{id}/validate"),
        ("POST", "/registry/adhesions/{id}/accept"),
        ("GET", "/registry/entities/{id}/accounts"),
        ("POST", "/registry/entities/{id}/merge"),
        ("DELETE", "/auth/api-keys/{id}"),
    ],
)
async def test_ids_beyond_the_database_range_are_not_found(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    headers = await bearer(client, INSTRUCTOR)
    for value in (2**31, 2**40, 2**63, 0, -1):
        response = await client.request(
            method, path.format(id=value), json={"into": 1, "expires_on": None}, headers=headers
        )
        assert response.status_code in (400, 404), (value, response.text)
        assert response.json()["description"]


async def test_pages_answer_ids_beyond_the_database_range(pages: httpx.AsyncClient) -> None:
    await sign_in(pages, INSTRUCTOR)
    token = await page_token(pages, "/compte")
    big = 2**40
    for method, path in (
        ("GET", f"/registre/instruction/{big}"),
        ("GET", f"/registre/entite?id={big}"),
        ("GET", f"/registre/journal?id={big}"),
        ("POST", f"/registre/comptes/{big}/desactiver"),
        ("POST", f"/registre/partenariats/{big}/valider"),
        ("POST", f"/registre/instruction/{big}/accepter"),
        ("POST", f"/registre/entites/{big}/relais"),
        ("POST", f"/compte/cles/{big}/revoquer"),
    ):
        response = await pages.request(method, path, data={"csrf_token": token})
        assert response.status_code in (400, 404), (path, response.status_code)
        assert response.headers["content-type"].startswith("text/html")
