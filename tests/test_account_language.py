"""Each account's language, stored: chosen on its page, through the API, or by the language
switch while signed in; every mail is written in its recipient's language whoever triggers it
(a referent browsing in French, a lifecycle job), and an unknown language is refused with
nothing changed."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, date, datetime, timedelta

import httpx
import psycopg
import pypdf
import pytest
from fastapi import FastAPI

from extensions.i18n import LANGUAGES, speaking
from extensions.services import Services
from extensions.web import make_templates
from registry_plugin.domain import lifecycle
from registry_plugin.vocabulary import LANGUAGE_NAMES
from tests.registry import INSTRUCTOR, PASSWORD, bearer, mails, request_account, unique
from tests.test_registry_admin import CSRF, accepted_request, sign_in
from tests.test_registry_api import adherent

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


@pytest.fixture(scope="module")
async def entity(client: httpx.AsyncClient) -> tuple[int, str]:
    """An adherent entity for this module's accounts, and its referent."""
    return await adherent(client)


def stored(database: str, email: str) -> str:
    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT language FROM registry.accounts WHERE email = %s", (email,)
        ).fetchone()
    assert row is not None
    return str(row[0])


def language_changes(database: str, email: str) -> list[tuple[str, str]]:
    """The account's audited language changes, oldest first: (before, after)."""
    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT l.details->>'before', l.details->>'after' FROM registry.audit_log l "
            "JOIN registry.accounts a ON a.id = l.subject_id AND l.subject_type = 'account' "
            "WHERE a.email = %s AND l.action = 'account.language_changed' ORDER BY l.id",
            (email,),
        ).fetchall()
    return [(before, after) for before, after in rows]


async def subjects(client: httpx.AsyncClient, to: str, template: str) -> list[str]:
    return [m["subject"] for m in await mails(client, to) if m["template"] == template]


def test_the_choices_are_the_languages_of_the_catalogues() -> None:
    assert tuple(LANGUAGE_NAMES) == LANGUAGES


async def test_an_english_member_is_told_in_english_by_a_referent_browsing_in_french(
    app: FastAPI, client: httpx.AsyncClient, pages: httpx.AsyncClient, entity: tuple[int, str]
) -> None:
    entity_id, referent = entity
    member = unique("english")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=ENGLISH
    ) as english:
        created = await request_account(english, member, entity_id, certifications=["spot67"])
    assert created.status_code == 201, created.text

    await sign_in(pages, referent, PASSWORD)
    page = await pages.get("/registre/entite", headers=FRENCH)
    token = CSRF.search(page.text)
    assert token and "Valider" in html.unescape(page.text)
    validated = await pages.post(
        f"/registre/comptes/{created.json()['id']}/valider",
        data={"csrf_token": token.group(1)},
        headers=FRENCH,
    )
    assert validated.status_code == 303, validated.text
    assert await subjects(client, member, "account_validated") == [
        "DINAMIS — your account is validated"
    ]
    # The referent (French) was asked in French to validate it, though an English reader
    # triggered that mail.
    (asked,) = [m for m in await mails(client, referent) if member in m["body"]]
    assert asked["subject"].startswith("DINAMIS — nouveau compte à valider")

    # Instructors see each account's language in the account search.
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as desk:
        await sign_in(desk, INSTRUCTOR, "Toto@34090")
        found = html.unescape((await desk.get("/registre/comptes", params={"q": member})).text)
    assert '<td data-label="Langue" lang="en">English</td>' in found
    assert '<td data-label="Rôles">utilisateur</td>' in found  # its label, not the role's code


async def validated_member(
    client: httpx.AsyncClient, entity: int, expires_on: date | None = None
) -> tuple[int, str]:
    """A new validated account of the entity (French, as its request was): its id and e-mail."""
    email = unique("membre")
    account = (await request_account(client, email, entity, certifications=["spot67"])).json()
    validated = await client.post(
        f"/registry/accounts/{account['id']}/validate",
        json={"expires_on": expires_on.isoformat() if expires_on else None},
        headers=await bearer(client, INSTRUCTOR),
    )
    assert validated.status_code == 200, validated.text
    return account["id"], email


async def test_the_language_is_chosen_on_the_account_page_the_switch_or_the_api(
    client: httpx.AsyncClient, pages: httpx.AsyncClient, entity: tuple[int, str], database: str
) -> None:
    _, email = await validated_member(client, entity[0])
    assert stored(database, email) == "fr"

    # The language switch of any page, while signed in, is kept with the account.
    await sign_in(pages, email, PASSWORD)
    assert '<html lang="en">' in (await pages.get("/portail?lang=en")).text
    assert stored(database, email) == "en"
    assert language_changes(database, email) == [("fr", "en")]  # audited as any other change
    await pages.get("/portail?lang=en")  # the same language again: nothing to record
    assert language_changes(database, email) == [("fr", "en")]

    # The account page's field; an unknown language is refused on the form, nothing changes.
    page = await pages.get("/compte")
    assert 'name="language"' in page.text and '<option value="en" lang="en" selected>' in page.text
    token = CSRF.search(page.text)
    assert token
    refused = await pages.post(
        "/compte/langue", data={"csrf_token": token.group(1), "language": "de"}
    )
    assert refused.status_code == 400
    assert "Unknown language “de”: choose among fr, en." in html.unescape(refused.text)
    assert stored(database, email) == "en"
    chosen = await pages.post(
        "/compte/langue", data={"csrf_token": token.group(1), "language": "fr"}
    )
    assert chosen.status_code == 303 and chosen.headers["location"] == "/compte?lang=fr"
    assert stored(database, email) == "fr"
    assert '<html lang="fr">' in (await pages.get(chosen.headers["location"])).text

    # The API: the same refusal, then the choice.
    headers = await bearer(client, email, PASSWORD)
    for wrong in ("de", "", "EN"):
        bad = await client.put("/auth/me/language", json={"language": wrong}, headers=headers)
        assert bad.status_code == 400 and "fr, en" in bad.json()["description"], bad.text
    assert stored(database, email) == "fr"
    chosen_api = await client.put("/auth/me/language", json={"language": "en"}, headers=headers)
    assert chosen_api.status_code == 200 and chosen_api.json()["language"] == "en"
    me = await client.get("/auth/me", headers=headers)
    assert me.json()["account"]["language"] == "en"
    # The switch's, the page's and the API's.
    assert language_changes(database, email) == [("fr", "en"), ("en", "fr"), ("fr", "en")]

    # Signed in again from a French browser with no cookie: the pages follow the account.
    pages.cookies.clear()
    await sign_in(pages, email, PASSWORD)
    account_page = await pages.get("/compte", headers={"Accept-Language": "fr-FR,fr"})
    assert '<html lang="en">' in account_page.text


def test_a_translated_placeholder_leaves_the_fields_attributes_whole() -> None:
    """The form field's placeholder, a translated text, is written as an attribute of its
    own: joined to the other attributes, it escaped them into the placeholder's value (the
    API key's name showed `"ex.` and had no length limit)."""
    templates = make_templates([], "http://testserver", {})
    macro = templates.env.from_string(
        '{% from "forms.html" import field %}'
        "{{ field('name', 'Nom', attrs='maxlength=\"80\"', placeholder=_('ex. QGIS poste bureau')) }}"
    )
    with speaking("en"):
        rendered = macro.render()
    assert re.search(r'placeholder="e\.g\. QGIS [^"]*" maxlength="80">', rendered), rendered


async def test_lifecycle_mails_follow_the_stored_language(
    app: FastAPI, client: httpx.AsyncClient, entity: tuple[int, str], database: str
) -> None:
    soon = date.today() + timedelta(days=30)
    _, english = await validated_member(client, entity[0], soon)
    _, french = await validated_member(client, entity[0], soon)
    with psycopg.connect(database) as conn:
        conn.execute("UPDATE registry.accounts SET language = 'en' WHERE email = %s", (english,))
    services: Services = app.state.services
    await lifecycle.run_step(services, lifecycle.expiry_notices, datetime.now(UTC))
    assert await subjects(client, english, "account_expiry_notice") == [
        "DINAMIS — your account expires in 30 days"
    ]
    assert await subjects(client, french, "account_expiry_notice") == [
        "DINAMIS — votre compte expire dans 30 jours"
    ]


async def test_one_mail_to_several_is_written_in_each_ones_language(
    client: httpx.AsyncClient, database: str
) -> None:
    """An adhesion filed from an English browser: its referent's account is English, its
    legal representative (an address, no account) is asked in English, the language of the
    person acting; the acceptance, by an instructor reading French, reaches both in one mail
    written twice: English for the referent, French for the legal representative."""
    entity_id, referent = await adherent(client, **ENGLISH)
    assert stored(database, referent) == "en"
    with psycopg.connect(database) as conn:
        (rl,) = conn.execute(
            "SELECT email FROM registry.legal_representatives WHERE entity_id = %s",
            (entity_id,),
        ).fetchone() or ("",)
    asked = await subjects(client, rl, "adhesion_rl_link")
    assert len(asked) == 1 and asked[0].startswith("DINAMIS — electronic validation of")
    (english,) = await subjects(client, referent, "adhesion_accepted")
    (french,) = await subjects(client, rl, "adhesion_accepted")
    assert english.startswith("DINAMIS — membership of") and english.endswith("accepted")
    assert french.startswith("DINAMIS — adhésion de") and french.endswith("acceptée")


def act_text(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(response.content)).pages)


async def test_the_act_is_downloaded_in_the_readers_language(
    client: httpx.AsyncClient, entity: tuple[int, str], database: str
) -> None:
    """The Acte d'adhésion, made in French and English at the decision from the same records:
    each reader downloads it in their language."""
    entity_id, referent = entity
    with psycopg.connect(database) as conn:
        (adhesion,) = conn.execute(
            "SELECT id FROM registry.adhesions WHERE entity_id = %s", (entity_id,)
        ).fetchone() or (0,)
    headers = await bearer(client, referent, PASSWORD)
    path = f"/registry/adhesions/{adhesion}/act"
    english = act_text(await client.get(path, headers={**headers, **ENGLISH}))
    french = act_text(await client.get(path, headers={**headers, **FRENCH}))
    assert "Act of membership of the DINAMIS scheme" in english and "Acte d" not in english
    assert "Acte d'adhésion au dispositif DINAMIS" in french
    number = re.compile(r"ADH-\d{4}-\d{5}")
    assert number.findall(english) == number.findall(french) != []


async def test_the_ordering_desk_writes_to_a_requester_in_their_language(
    app: FastAPI, client: httpx.AsyncClient, entity: tuple[int, str]
) -> None:
    """The ordering plugin's mails too: an English requester is told in English that an
    instructor reading French accepted the request."""
    member = unique("requester")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers=ENGLISH
    ) as english:
        created = await request_account(english, member, entity[0], certifications=["spot67"])
    assert created.status_code == 201, created.text
    instructor = await bearer(client, INSTRUCTOR)
    validated = await client.post(
        f"/registry/accounts/{created.json()['id']}/validate", json={}, headers=instructor
    )
    assert validated.status_code == 200, validated.text
    request = await accepted_request(client, instructor, member)
    assert await subjects(client, member, "ordering_status") == [
        f"DINAMIS — request {request['id']}: Accepted"
    ]
    cancelled = await client.post(
        f"/ordering/orders/{request['id']}/actions/cancel",
        json={"reason": "Fin du test"},
        headers=instructor,
    )
    assert cancelled.status_code == 200, cancelled.text
