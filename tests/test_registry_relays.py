"""Relay partners (issue 16, 1; seed 003, PIGMA): an instructor designates an adherent entity
with its convention; its referents file their partners' adhesions, create and administer their
members' accounts, and follow their activity; bad input is refused and changes nothing."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from playwright.sync_api import FilePayload, Page, expect

from tests.registry import (
    DEMO_PASSWORD,
    INSTRUCTOR,
    PASSWORD,
    adhesion,
    bearer,
    entity_id,
    link,
    mails,
    pdf,
    request_account,
    rl_validate,
    ticket,
    unique,
)
from tests.test_registry_browser import browser, click, page, sign_in, sign_out
from tests.test_registry_pages import form, shown, start_adhesion

__all__ = ["browser", "page"]  # the fixtures, shared with the registry's browser tests

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
AVENANT = "Avenant n°12 à la convention PIGMA du 01/03/2025"


async def adherent(
    client: httpx.AsyncClient, headers: dict[str, str], **parts: Any
) -> dict[str, Any]:
    """An adhesion filed (by a relay when `headers` sign one in), RL-validated and accepted."""
    referent, body = unique("referent"), adhesion(**parts)
    verified = await ticket(client, referent, "adhesion")
    created = await client.post(
        "/registry/adhesions",
        data={"ticket": verified, "adhesion": orjson.dumps(body).decode()},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    await rl_validate(client, body["legal_representative"]["email"])
    accepted = await client.post(
        f"/registry/adhesions/{created.json()['id']}/accept",
        headers=await bearer(client, INSTRUCTOR),
    )
    assert accepted.status_code == 200, accepted.text
    return {**accepted.json(), "referent": referent}


async def designate(
    client: httpx.AsyncClient, entity: int, document: bytes, **form: str
) -> httpx.Response:
    return await client.post(
        f"/registry/entities/{entity}/relay-convention",
        data={"title": "Convention GIP ATGeRi - IGN - DINAMIS", "signed_on": "2025-03-01", **form},
        files={"document": ("convention.pdf", document, "application/pdf")},
        headers=await bearer(client, INSTRUCTOR),
    )


def member_account(email: str, **fields: str) -> dict[str, str]:
    """A member's account as a relay creates it."""
    return {
        "email": email,
        "first_name": "Marie",
        "last_name": "Partenaire",
        "function": "Chargée SIG",
        "phone": "0556000000",
        "nationality": "France",
        **fields,
    }


@dataclass
class Relay:
    id: int
    referent: str
    headers: dict[str, str]
    partner: dict[str, Any]  # filed by the relay, accepted


@pytest.fixture(scope="module")
async def relay(client: httpx.AsyncClient) -> Relay:
    relay = await adherent(client, {})
    entity = relay["entity"]["id"]
    designated = await designate(client, entity, pdf())
    assert designated.status_code == 201, designated.text
    headers = await bearer(client, relay["referent"], PASSWORD)
    partner = await adherent(client, headers, avenant=AVENANT)
    return Relay(entity, relay["referent"], headers, partner)


async def test_designation_keeps_the_convention_and_makes_the_referents_relays(
    client: httpx.AsyncClient, relay: Relay
) -> None:
    me = (await client.get("/auth/me", headers=relay.headers)).json()
    assert "relay" in me["roles"]
    document = await client.get(
        f"/registry/entities/{relay.id}/relay-convention", headers=relay.headers
    )
    assert document.status_code == 200 and document.content.startswith(b"%PDF-")
    events = await client.get(
        "/registry/audit",
        params={"subject_type": "entity", "subject_id": relay.id},
        headers=await bearer(client, INSTRUCTOR),
    )
    designated = next(e for e in events.json() if e["action"] == "entity.relay_designated")
    assert designated["details"]["signed_on"] == "2025-03-01"


async def test_the_partners_adhesion_says_who_filed_it_and_its_avenant(
    client: httpx.AsyncClient, relay: Relay
) -> None:
    me = (await client.get("/auth/me", headers=relay.headers)).json()
    filed = relay.partner
    assert filed["relay_id"] == relay.id
    assert filed["filed_by_id"] == me["account"]["id"]
    assert filed["avenant"] == AVENANT
    # Without its avenant, a relay's filing is refused and creates nothing.
    referent, body = unique("referent"), adhesion()
    refused = await client.post(
        "/registry/adhesions",
        data={
            "ticket": await ticket(client, referent, "adhesion"),
            "adhesion": orjson.dumps(body).decode(),
        },
        headers=relay.headers,
    )
    assert refused.status_code == 400
    assert "avenant" in refused.json()["fields"]
    found = await client.get("/registry/entities", params={"q": body["entity"]["name"]})
    assert found.json()["total"] == 0
    assert not any(m["template"] == "adhesion_submitted" for m in await mails(client, referent))


async def test_relay_creates_a_member_who_sets_a_password_and_certifies(
    client: httpx.AsyncClient, relay: Relay
) -> None:
    email = unique("membre")
    expiry = date.today() + timedelta(days=200)
    created = await client.post(
        f"/registry/entities/{relay.partner['entity']['id']}/accounts",
        json=member_account(email, expires_on=expiry.isoformat()),
        headers=relay.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "active" and created.json()["expires_on"] == str(expiry)
    # The member chooses their own password from the mailed link, then certifies the licences.
    token = await link(client, email, "/connexion/nouveau-mot-de-passe")
    chosen = await client.post(
        "/auth/password-resets/confirm",
        json={"token": token, "password": PASSWORD, "password_confirmation": PASSWORD},
    )
    assert chosen.status_code == 204, chosen.text
    member = await bearer(client, email, PASSWORD)
    assert (await client.get("/auth/me", headers=member)).json()["licences_certified"] == []
    certified = await client.post(
        "/auth/certifications", json={"licences": ["spot67"]}, headers=member
    )
    assert certified.json() == ["spot67"]


async def test_relay_validates_deactivates_and_sets_expiry_and_the_referent_keeps_rights(
    client: httpx.AsyncClient, relay: Relay
) -> None:
    partner = relay.partner["entity"]["id"]
    first = (await request_account(client, unique("m"), partner, certifications=[])).json()
    second = (await request_account(client, unique("m"), partner, certifications=[])).json()
    validated = await client.post(
        f"/registry/accounts/{first['id']}/validate", json={}, headers=relay.headers
    )
    assert validated.json()["status"] == "active"
    expiry = (date.today() + timedelta(days=90)).isoformat()
    expiring = await client.put(
        f"/registry/accounts/{first['id']}/expiry",
        json={"expires_on": expiry},
        headers=relay.headers,
    )
    assert expiring.json()["expires_on"] == expiry
    off = await client.post(f"/registry/accounts/{first['id']}/deactivate", headers=relay.headers)
    assert off.json()["status"] == "deactivated"
    # The partner's own referent keeps their rights over its accounts.
    own = await bearer(client, relay.partner["referent"], PASSWORD)
    kept = await client.post(f"/registry/accounts/{second['id']}/validate", json={}, headers=own)
    assert kept.status_code == 200 and kept.json()["status"] == "active"


async def test_a_relay_has_no_say_over_other_entities(
    client: httpx.AsyncClient, relay: Relay
) -> None:
    formation = await entity_id(client, "Formation_6_11")
    bruce = await client.get(
        "/registry/entities", params={"q": "Formation_6_Novembre"}
    )  # an entity of the demo, not a partner
    assert bruce.status_code == 200
    email = unique("intrus")
    refused = await client.post(
        f"/registry/entities/{formation}/accounts",
        json=member_account(email),
        headers=relay.headers,
    )
    assert refused.status_code == 403
    assert "n'est pas l'une de vos entités partenaires" in refused.json()["description"]
    assert not await mails(client, email)
    activity = await client.get(
        f"/registry/relays/{relay.id}/activity",
        params={"entity_id": formation},
        headers=relay.headers,
    )
    assert activity.status_code == 403
    # A referent of another entity is no relay: neither account creation nor activity.
    other = await bearer(client, "sans.pleiades@autre.example")
    partner = relay.partner["entity"]["id"]
    assert (
        await client.post(f"/registry/entities/{partner}/accounts", json={}, headers=other)
    ).status_code in (400, 403)
    stranger = await client.post(
        f"/registry/entities/{partner}/accounts",
        json=member_account(unique("x")),
        headers=other,
    )
    assert stranger.status_code == 403
    assert (
        await client.get(f"/registry/relays/{relay.id}/activity", headers=other)
    ).status_code == 403


async def test_bad_input_is_refused_with_its_reason(
    client: httpx.AsyncClient, relay: Relay, database: str
) -> None:
    partner = relay.partner["entity"]["id"]
    past = (date.today() - timedelta(days=1)).isoformat()
    body = member_account(unique("passe"), expires_on=past)
    expired = await client.post(
        f"/registry/entities/{partner}/accounts", json=body, headers=relay.headers
    )
    assert expired.status_code == 400
    assert "futur" in expired.json()["description"]
    account = (await request_account(client, unique("m"), partner, certifications=[])).json()
    in_past = await client.post(
        f"/registry/accounts/{account['id']}/validate",
        json={"expires_on": past},
        headers=relay.headers,
    )
    assert in_past.status_code == 400

    # A convention that is not a PDF, or over 25 MB, designates nothing and keeps no file.
    other = (await adherent(client, {}))["entity"]["id"]
    not_pdf = await designate(client, other, b"PK\x03\x04 a zip")
    assert not_pdf.status_code == 415 and "PDF" in not_pdf.json()["description"]
    too_large = await designate(client, other, pdf(25 * 2**20 + 1))
    assert too_large.status_code == 413 and "25 Mo" in too_large.json()["description"]
    undated = await designate(client, other, pdf(), signed_on="demain")
    assert undated.status_code == 400 and "signed_on" in undated.json()["fields"]
    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT is_relay, (SELECT count(*) FROM registry.relay_conventions c "
            "WHERE c.entity_id = e.id) FROM registry.entities e WHERE id = %s",
            (other,),
        ).fetchone()
    assert row == (False, 0)
    # Only an adherent entity becomes a relay; PUT …/relay reinstates only with a convention.
    reinstated = await client.put(
        f"/registry/entities/{other}/relay",
        json={"relay": True},
        headers=await bearer(client, INSTRUCTOR),
    )
    assert reinstated.status_code == 409 and "convention" in reinstated.json()["description"]


async def test_activity_lists_partners_accounts_downloads_and_exports_csv(
    client: httpx.AsyncClient, pages: httpx.AsyncClient, relay: Relay, database: str
) -> None:
    partner = relay.partner["entity"]["id"]
    with psycopg.connect(database) as conn:
        conn.execute(
            "INSERT INTO dinamis.signatures (at, account_id, entity_id, collection, item, asset, "
            "expires_at, via) VALUES ('2026-02-03', NULL, %s, 'pleiades', 'X', 'data', now(), "
            "'test'), ('2026-03-04', NULL, %s, 'spot67', 'Y', 'data', now(), 'test')",
            (partner, partner),
        )
        conn.execute(
            "INSERT INTO dinamis.downloads (signature, entity_id, collection, item, asset, "
            "first_at) VALUES (%s, %s, 'pleiades', 'X', 'data', '2026-02-05')",
            (unique("sig")[:60], partner),
        )
    seen = await client.get(
        f"/registry/relays/{relay.id}/activity",
        params={"since": "2026-02", "until": "2026-02"},
        headers=relay.headers,
    )
    assert seen.status_code == 200, seen.text
    view = seen.json()
    assert [p["id"] for p in view["partners"]] == [partner]
    assert relay.partner["referent"] in {a["email"] for a in view["accounts"]}
    assert view["activity"] == [
        {"month": "2026-02", "collection": "pleiades", "signatures": 1, "downloads": 1}
    ]
    backwards = await client.get(
        f"/registry/relays/{relay.id}/activity",
        params={"since": "2026-03", "until": "2026-01"},
        headers=relay.headers,
    )
    assert backwards.status_code == 400 and "until" in backwards.json()["fields"]

    # The page, its chart and its CSV export, signed in as the relay's referent.
    await page_sign_in(pages, relay.referent)
    page = await pages.get("/registre/relais", params={"depuis": "2026-01"})
    assert page.status_code == 200
    assert relay.partner["entity"]["name"] in page.text and "<svg" in page.text
    exported = await pages.get("/registre/relais/export.csv", params={"partie": "activite"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert {"month": "2026-03", "collection": "spot67", "signatures": "1", "downloads": "0"} in rows


async def test_the_portal_wizard_asks_a_relay_for_the_avenant(
    client: httpx.AsyncClient, pages: httpx.AsyncClient, relay: Relay
) -> None:
    await page_sign_in(pages, relay.referent)
    referent = await start_adhesion(client, pages)
    assert (await form(pages, "/portail/adhesion/rappel", {})).status_code == 303
    body = adhesion()
    steps = {
        "entite": body["entity"],
        "secteur": body["sector"],
        "representant": body["legal_representative"],
        "referent": body["referent"],
    }
    for step, values in steps.items():
        saved = await form(pages, f"/portail/adhesion/{step}", values)
        assert saved.status_code == 303, shown(saved)
    summary = await pages.get("/portail/adhesion/recapitulatif")
    assert "Demande déposée par votre partenaire relais" in shown(summary)
    assert 'name="avenant"' in summary.text
    token = CSRF.search(summary.text)
    assert token
    missing = await pages.post("/portail/adhesion/soumettre", data={"csrf_token": token.group(1)})
    assert missing.status_code == 400 and "Indiquez l'avenant" in shown(missing)
    sent = await pages.post(
        "/portail/adhesion/soumettre", data={"csrf_token": token.group(1), "avenant": AVENANT}
    )
    assert sent.status_code == 200, shown(sent)
    adhesions = await client.get(
        "/registry/adhesions",
        params={"status": "awaiting_rl"},
        headers=await bearer(client, INSTRUCTOR),
    )
    filed = next(a for a in adhesions.json() if a["submitted_by"] == referent)
    assert filed["relay_id"] == relay.id and filed["avenant"] == AVENANT
    await page_sign_in(pages, INSTRUCTOR, DEMO_PASSWORD)
    detail = shown(await pages.get(f"/registre/instruction/{filed['id']}"))
    assert "par son partenaire relais" in detail and AVENANT in detail


async def page_sign_in(pages: httpx.AsyncClient, email: str, password: str = PASSWORD) -> None:
    signed = await form(pages, "/connexion", {"email": email, "password": password})
    assert signed.status_code in (200, 303), signed.text


# -- in a real browser, after `make run`: the demo's PIGMA ---------------------------------------


def test_an_instructor_designates_and_the_relay_acts_in_a_browser(page: Page) -> None:
    errors: list[str] = []
    page.on(  # the refused convention's page comes with its 415: no other error
        "console",
        lambda m: errors.append(m.text) if m.type == "error" and "415" not in m.text else None,
    )
    # The instructor renews PIGMA's convention: a zip is refused on the form, a PDF kept.
    sign_in(page, INSTRUCTOR, DEMO_PASSWORD)
    page.goto("/registre/entites?q=PIGMA")
    page.get_by_role("link", name="Convention").click()
    page.get_by_label("Titre de la convention").fill("Convention PIGMA - DINAMIS, avenant 2026")
    page.get_by_label("Date de signature").fill("2026-01-15")
    zipped = FilePayload(name="convention.zip", mimeType="application/zip", buffer=b"PK\x03")
    page.set_input_files("#f-document", files=[zipped])
    click(page, "Désigner partenaire relais")
    expect(page.locator("#e-document")).to_have_text("La convention doit être un PDF.")
    signed = FilePayload(name="convention.pdf", mimeType="application/pdf", buffer=pdf())
    page.set_input_files("#f-document", files=[signed])
    click(page, "Désigner partenaire relais")
    expect(page.locator(".flash")).to_contain_text("est partenaire relais de DINAMIS")
    sign_out(page)

    # The relay's referent sees its partners and their activity, and opens an account.
    sign_in(page, "relais@pigma.example", DEMO_PASSWORD)
    page.get_by_role("link", name="Relais", exact=True).click()
    expect(page.get_by_role("heading", name="Entités partenaires", exact=True)).to_be_visible()
    expect(page.locator("svg[role=img]").first).to_be_visible()
    expect(page.get_by_role("cell", name="Commune de Mérignac").first).to_be_visible()
    email = unique("foret")
    page.locator("#f-entity_id").select_option(label="Parc naturel régional des Landes de Gascogne")
    for field, value in (
        ("first_name", "Sylvain"),
        ("last_name", "Pignada"),
        ("function", "Garde forestier"),
        ("email", email),
        ("phone", "05 56 00 00 00"),
    ):
        page.locator(f"#f-{field}").fill(value)
    click(page, "Créer le compte")
    expect(page.locator(".flash")).to_contain_text("Compte de Sylvain Pignada créé")
    row = page.locator("tr", has_text=email)
    expect(row).to_contain_text("Actif")
    # A date in the past is refused, a future one kept.
    row.get_by_label("Date d'expiration").fill("2020-01-01")
    row.get_by_role("button", name="Fixer l'expiration").click()
    expect(page.locator(".flash")).to_contain_text("dans le futur")
    assert not errors, errors
