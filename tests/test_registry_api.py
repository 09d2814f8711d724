"""The registry's flows end to end through the JSON API, on the real database, with the
outbox as the mailbox: adhesions (public, private R&D, private contractor), the legal
representative's e-validation, instruction and the act, accounts, credentials."""

from __future__ import annotations

import io
from datetime import date, timedelta

import httpx
import orjson
import psycopg
import pypdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.registry import (
    DEMO_PASSWORD,
    FORMATION_RD,
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
    submit,
    ticket,
    unique,
)


async def accept(client: httpx.AsyncClient, adhesion_id: int) -> httpx.Response:
    return await client.post(
        f"/registry/adhesions/{adhesion_id}/accept", headers=await bearer(client, INSTRUCTOR)
    )


async def adherent(client: httpx.AsyncClient, **headers: str) -> tuple[int, str]:
    """A new adherent entity (adhesion submitted, RL-validated, accepted) and its referent."""
    referent, body = unique("referent"), adhesion()
    verified = await ticket(client, referent, "adhesion")
    created = await client.post(
        "/registry/adhesions",
        data={"ticket": verified, "adhesion": orjson.dumps(body).decode()},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    await rl_validate(client, body["legal_representative"]["email"])
    assert (await accept(client, created.json()["id"])).status_code == 200
    return created.json()["entity"]["id"], referent


# -- public adhesion -----------------------------------------------------------------------------


async def test_public_adhesion_from_verification_to_the_act(client: httpx.AsyncClient) -> None:
    referent, body = unique("referent"), adhesion()
    rl_email = body["legal_representative"]["email"]
    submitted = await submit(client, body, referent)
    assert submitted.status_code == 201, submitted.text
    created = submitted.json()
    assert created["entity"]["status"] == "awaiting_rl" and created["kind"] == "public"

    # The RL and the referent are mailed the charter and licences; the RL gets the link.
    rl_mail = (await mails(client, rl_email))[0]
    assert "/portail/adhesion/validation/" in rl_mail["body"]
    assert any("adhésion" in m["subject"] for m in await mails(client, referent))

    # The referent cannot sign in before the adhesion is accepted, and is told why.
    refused = await client.post("/auth/token", data={"username": referent, "password": PASSWORD})
    assert refused.status_code == 401
    assert "attend la validation" in refused.json()["description"]

    # The RL must tick every document: the server refuses a partial acceptance.
    token = await link(client, rl_email, "/portail/adhesion/validation")
    view = (await client.get(f"/registry/adhesions/validation/{token}")).json()
    codes = [lic["code"] for lic in view["licences"]]
    assert codes == ["charte", "spot67", "pleiades-cat1", "pwh", "pleiades-neo"]  # French entity
    partial = await client.post(
        f"/registry/adhesions/validation/{token}", json={"accepted": codes[:-1]}
    )
    assert partial.status_code == 400
    assert list(partial.json()["fields"]) == ["accept-pleiades-neo"]
    validated = await client.post(
        f"/registry/adhesions/validation/{token}", json={"accepted": codes}
    )
    assert validated.status_code == 200, validated.text
    assert validated.json()["entity"]["status"] == "awaiting_instruction"
    replay = await client.post(f"/registry/adhesions/validation/{token}", json={"accepted": codes})
    assert replay.status_code == 400 and "déjà été utilisé" in replay.json()["description"]

    # The instructor accepts; the act is generated, stored and mailed to the RL and the RD.
    accepted = await accept(client, created["id"])
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["decision"] == "accepted"
    act = await client.get(
        f"/registry/adhesions/{created['id']}/act", headers=await bearer(client, INSTRUCTOR)
    )
    assert act.status_code == 200 and act.headers["content-type"] == "application/pdf"
    pages = pypdf.PdfReader(io.BytesIO(act.content)).pages
    text = "".join(page.extract_text() for page in pages).replace("\n", " ")
    for expected in (body["entity"]["name"], "John Doe", rl_email, "Jane Doe", referent):
        assert expected in text, text
    for title in ("Charte DINAMIS", "Licence SPOT 6/7", "Licence Pléiades Néo"):
        assert title in text
    assert "2024" in text and "UTC" in text  # versions and times of acceptance
    for address in (rl_email, referent):
        accepted_mail = next(
            m for m in await mails(client, address) if m["template"] == "adhesion_accepted"
        )
        assert accepted_mail["subject"]

    # The referent now signs in and sees the entity's licences.
    headers = await bearer(client, referent, PASSWORD)
    me = (await client.get("/auth/me", headers=headers)).json()
    assert me["entity"]["status"] == "active"
    assert set(me["roles"]) == {"user", "referent"}
    assert me["licences_accepted_by_entity"] == codes


async def test_instructor_rejects_with_a_reason(client: httpx.AsyncClient) -> None:
    referent, body = unique("referent"), adhesion()
    created = (await submit(client, body, referent)).json()
    assert (await rl_validate(client, body["legal_representative"]["email"])).status_code == 200
    headers = await bearer(client, INSTRUCTOR)
    url = f"/registry/adhesions/{created['id']}/reject"
    short = await client.post(url, json={"reason": "non"}, headers=headers)
    assert short.status_code == 400 and "reason" in short.json()["fields"]
    rejected = await client.post(
        url, json={"reason": "Entité hors des catégories éligibles."}, headers=headers
    )
    assert rejected.status_code == 200 and rejected.json()["decision"] == "rejected"
    again = await accept(client, created["id"])
    assert again.status_code == 409
    mail = next(m for m in await mails(client, referent) if m["template"] == "adhesion_rejected")
    assert "hors des catégories" in mail["body"]
    refused = await client.post("/auth/token", data={"username": referent, "password": PASSWORD})
    assert "refusée" in refused.json()["description"]


# -- private R&D ---------------------------------------------------------------------------------


async def test_private_rd_adhesion_needs_its_project_description(
    client: httpx.AsyncClient,
) -> None:
    body = adhesion("private_rd")
    referent = unique("rd")
    verified = await ticket(client, referent, "adhesion")
    without = await submit(client, body, referent, verified=verified)
    assert without.status_code == 400
    assert "mission.description" in without.json()["fields"]

    not_pdf = await submit(
        client,
        body,
        referent,
        {"description": ("projet.pdf", b"<html>", "application/pdf")},
        verified,
    )
    assert not_pdf.status_code == 415 and "PDF" in not_pdf.json()["description"]
    too_big = await submit(
        client,
        body,
        referent,
        {"description": ("projet.pdf", pdf(26 * 1024 * 1024), "application/pdf")},
        verified,
    )
    assert too_big.status_code == 413 and "25 Mo" in too_big.json()["description"]

    created = await submit(
        client,
        body,
        referent,
        {"description": ("MonProjetRD.pdf", pdf(), "application/pdf")},
        verified,
    )
    assert created.status_code == 201, created.text
    assert created.json()["kind"] == "private_rd"

    # Only the refused uploads' files are gone: the accepted one is kept with the mission.
    adhesion_id = created.json()["id"]
    assert (await rl_validate(client, body["legal_representative"]["email"])).status_code == 200
    detail = await client.get(
        "/registry/adhesions",
        params={"status": "awaiting_instruction"},
        headers=await bearer(client, INSTRUCTOR),
    )
    assert any(a["id"] == adhesion_id for a in detail.json())


async def test_mission_fields_are_checked(client: httpx.AsyncClient) -> None:
    body = adhesion("private_contractor")
    body["mission"]["north"] = 40.0  # below the south
    body["mission"]["sensors"] = []
    body["partner"] = {"public_entity_id": await entity_id(client, "Formation_6_11")}
    response = await submit(client, body, unique("presta"))
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert "mission.sensors" in fields


# -- private contractor and its public partner -------------------------------------------------


async def test_contractor_waits_for_its_public_partner(client: httpx.AsyncClient) -> None:
    partner = await entity_id(client, "Formation_6_11")
    body = adhesion("private_contractor", partner={"public_entity_id": partner})
    referent = unique("presta")
    created = await submit(client, body, referent)
    assert created.status_code == 201, created.text
    validated = await rl_validate(client, body["legal_representative"]["email"])
    assert validated.json()["entity"]["status"] == "awaiting_partner"
    notified = await mails(client, FORMATION_RD)
    assert any(m["template"] == "partnership_to_validate" for m in notified)

    # Another entity's referent may not decide; the partner's referent validates.
    listed = await client.get("/registry/partnerships", headers=await bearer(client, FORMATION_RD))
    partnership = next(
        p for p in listed.json() if p["private_entity"]["id"] == created.json()["entity"]["id"]
    )
    other = await client.post(
        f"/registry/partnerships/{partnership['id']}/validate",
        headers=await bearer(client, "sans.pleiades@autre.example"),
    )
    assert other.status_code == 403
    decided = await client.post(
        f"/registry/partnerships/{partnership['id']}/validate",
        headers=await bearer(client, FORMATION_RD),
    )
    assert decided.status_code == 200 and decided.json()["status"] == "validated"
    queue = await client.get(
        "/registry/adhesions",
        params={"status": "awaiting_instruction"},
        headers=await bearer(client, INSTRUCTOR),
    )
    assert any(a["id"] == created.json()["id"] for a in queue.json())


async def test_refused_partnership_rejects_the_adhesion(client: httpx.AsyncClient) -> None:
    partner = await entity_id(client, "Formation_6_11")
    body = adhesion("private_contractor", partner={"public_entity_id": partner})
    created = (await submit(client, body, unique("presta"))).json()
    await rl_validate(client, body["legal_representative"]["email"])
    headers = await bearer(client, FORMATION_RD)
    listed = await client.get("/registry/partnerships", headers=headers)
    partnership = next(
        p for p in listed.json() if p["private_entity"]["id"] == created["entity"]["id"]
    )
    refused = await client.post(
        f"/registry/partnerships/{partnership['id']}/refuse", headers=headers
    )
    assert refused.json()["status"] == "refused"
    twice = await client.post(
        f"/registry/partnerships/{partnership['id']}/validate", headers=headers
    )
    assert twice.status_code == 409


async def test_a_contractor_cannot_partner_with_a_private_entity(client: httpx.AsyncClient) -> None:
    body = adhesion(
        "private_contractor", partner={"public_entity_id": await entity_id(client, "PRIVRD")}
    )
    response = await submit(client, body, unique("presta"))
    assert response.status_code == 400
    assert "partner.public_entity_id" in response.json()["fields"]


# -- accounts ------------------------------------------------------------------------------------


async def test_account_request_then_validation_by_the_referent(client: httpx.AsyncClient) -> None:
    formation = await entity_id(client, "Formation_6_11")
    email = unique("user")
    created = await request_account(client, email, formation)
    assert created.status_code == 201, created.text
    account = created.json()
    assert account["status"] == "pending" and account["roles"] == ["user"]
    assert any(m["template"] == "account_to_validate" for m in await mails(client, FORMATION_RD))
    pending = await client.post("/auth/token", data={"username": email, "password": PASSWORD})
    assert pending.status_code == 401 and "Référent" in pending.json()["description"]

    # A referent of another entity may not validate it.
    other = await client.post(
        f"/registry/accounts/{account['id']}/validate",
        json={},
        headers=await bearer(client, "sans.pleiades@autre.example"),
    )
    assert other.status_code == 403
    assert (
        await client.post("/auth/token", data={"username": email, "password": PASSWORD})
    ).status_code == 401

    rd = await bearer(client, FORMATION_RD)
    past = await client.post(
        f"/registry/accounts/{account['id']}/validate",
        json={"expires_on": str(date.today() - timedelta(days=1))},
        headers=rd,
    )
    assert past.status_code == 400
    expiry = date.today() + timedelta(days=365)
    validated = await client.post(
        f"/registry/accounts/{account['id']}/validate", json={"expires_on": str(expiry)}, headers=rd
    )
    assert validated.status_code == 200 and validated.json()["expires_on"] == str(expiry)
    me = (await client.get("/auth/me", headers=await bearer(client, email, PASSWORD))).json()
    assert me["licences_certified"] == ["pleiades-cat1", "spot67"]

    # Deactivated, the account cannot sign in and its tokens stop working at once.
    headers = await bearer(client, email, PASSWORD)
    deactivated = await client.post(f"/registry/accounts/{account['id']}/deactivate", headers=rd)
    assert deactivated.json()["status"] == "deactivated"
    assert (await client.get("/auth/me", headers=headers)).status_code == 401
    again = await client.post("/auth/token", data={"username": email, "password": PASSWORD})
    assert "désactivé" in again.json()["description"]
    await client.post(f"/registry/accounts/{account['id']}/reactivate", headers=rd)
    assert (await client.get("/auth/me", headers=headers)).status_code == 200


async def test_refused_account_is_told_so(client: httpx.AsyncClient) -> None:
    email = unique("user")
    account = (
        await request_account(client, email, await entity_id(client, "Formation_6_11"))
    ).json()
    rd = await bearer(client, FORMATION_RD)
    refused = await client.post(
        f"/registry/accounts/{account['id']}/refuse",
        json={"reason": "Inconnu du service."},
        headers=rd,
    )
    assert refused.json()["status"] == "refused"
    response = await client.post("/auth/token", data={"username": email, "password": PASSWORD})
    assert response.status_code == 401 and "refusée" in response.json()["description"]
    assert "Inconnu du service" in (await mails(client, email))[0]["body"]


async def test_expired_account_is_told_so(client: httpx.AsyncClient, database: str) -> None:
    email = unique("user")
    account = (
        await request_account(client, email, await entity_id(client, "Formation_6_11"))
    ).json()
    rd = await bearer(client, FORMATION_RD)
    await client.post(f"/registry/accounts/{account['id']}/validate", json={}, headers=rd)
    with psycopg.connect(database) as conn:
        conn.execute(
            "UPDATE registry.accounts SET expires_on = current_date - 1 WHERE id = %s",
            (account["id"],),
        )
    response = await client.post("/auth/token", data={"username": email, "password": PASSWORD})
    assert response.status_code == 401 and "expiré" in response.json()["description"]


async def test_account_form_errors(client: httpx.AsyncClient) -> None:
    formation = await entity_id(client, "Formation_6_11")
    email = unique("user")
    mismatch = await request_account(client, email, formation, email_confirmation=unique("x"))
    assert mismatch.status_code == 400
    assert "identiques" in mismatch.json()["description"]
    weak = await request_account(
        client, email, formation, password="abc", password_confirmation="abc"
    )
    assert weak.status_code == 400 and "mot de passe" in weak.json()["description"]
    other = unique("y")
    other_address = await request_account(
        client, email, formation, email=other, email_confirmation=other
    )
    assert other_address.status_code == 400
    not_accepted = await request_account(
        client, email, await entity_id(client, "AUTRE"), certifications=["pleiades-neo"]
    )
    assert not_accepted.status_code == 400
    assert "n'a pas accepté" in not_accepted.json()["fields"]["certifications"]


async def test_referent_hands_over_the_role(client: httpx.AsyncClient) -> None:
    # A fresh entity, so that the demo's referents stay as they are.
    entity, referent = await adherent(client)
    member_email = unique("member")
    member = (await request_account(client, member_email, entity, certifications=[])).json()
    headers = await bearer(client, referent, PASSWORD)
    await client.post(f"/registry/accounts/{member['id']}/validate", json={}, headers=headers)
    handed = await client.post(
        f"/registry/entities/{entity}/referent", json={"account_id": member["id"]}, headers=headers
    )
    assert handed.status_code == 200 and "referent" in handed.json()["roles"]
    me = (await client.get("/auth/me", headers=headers)).json()
    assert "referent" not in me["roles"]
    rl = await client.put(
        f"/registry/entities/{entity}/legal-representative",
        json={
            "first_name": "Marie",
            "last_name": "Curie",
            "function": "Directrice",
            "email": "marie@exemple.fr",
            "email_confirmation": "marie@exemple.fr",
            "nationality": "France",
        },
        headers=await bearer(client, member_email, PASSWORD),
    )
    assert rl.status_code == 200 and rl.json()["email"] == "marie@exemple.fr"


# -- credentials ---------------------------------------------------------------------------------


async def test_api_keys_are_shown_once_and_revoked_at_once(client: httpx.AsyncClient) -> None:
    headers = await bearer(client, "bruce.wayne@formation.example")
    created = await client.post("/auth/api-keys", json={"name": "QGIS"}, headers=headers)
    assert created.status_code == 201
    key = created.json()["key"]
    listed = (await client.get("/auth/api-keys", headers=headers)).json()
    assert all("key" not in k for k in listed)
    assert any(k["prefix"] == key[:12] for k in listed)
    me = await client.get("/auth/me", headers={"X-API-Key": key})
    assert me.status_code == 200 and me.json()["via"] == "apikey"
    other = await client.delete(
        f"/auth/api-keys/{created.json()['id']}", headers=await bearer(client, FORMATION_RD)
    )
    assert other.status_code == 404
    revoked = await client.delete(f"/auth/api-keys/{created.json()['id']}", headers=headers)
    assert revoked.status_code == 204
    after = await client.get("/auth/me", headers={"X-API-Key": key})
    assert after.status_code == 401 and "révoqué" in after.json()["description"]
    empty = await client.post("/auth/api-keys", json={"name": "  "}, headers=headers)
    assert empty.status_code == 400


async def test_every_demo_account_signs_in_or_says_why(client: httpx.AsyncClient) -> None:
    for email in (
        INSTRUCTOR,
        FORMATION_RD,
        "john.doe@formation.example",
        "bruce.wayne@formation.example",
        "sans.pleiades@autre.example",
        "rd.user@prive.example",
    ):
        response = await client.post(
            "/auth/token", data={"username": email, "password": DEMO_PASSWORD}
        )
        assert response.status_code == 200, (email, response.text)
        assert response.json()["token_type"] == "bearer"
    wrong = await client.post("/auth/token", data={"username": FORMATION_RD, "password": "nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    unknown = await client.post("/auth/token", data={"username": "nobody@x.fr", "password": "nope"})
    assert unknown.json()["description"] == wrong.json()["description"]  # says nothing more


async def test_password_reset_and_change(client: httpx.AsyncClient) -> None:
    formation = await entity_id(client, "Formation_6_11")
    email = unique("user")
    account = (await request_account(client, email, formation, certifications=[])).json()
    await client.post(
        f"/registry/accounts/{account['id']}/validate",
        json={},
        headers=await bearer(client, FORMATION_RD),
    )
    old_session = await bearer(client, email, PASSWORD)

    assert (await client.post("/auth/password-resets", json={"email": email})).status_code == 202
    nobody = await client.post("/auth/password-resets", json={"email": unique("nobody")})
    assert nobody.status_code == 202  # the same answer: nothing tells who has an account
    token = await link(client, email, "/connexion/nouveau-mot-de-passe")
    weak = await client.post(
        "/auth/password-resets/confirm",
        json={"token": token, "password": "short", "password_confirmation": "short"},
    )
    assert weak.status_code == 400
    new = "Nouveau#Mot2Passe"
    done = await client.post(
        "/auth/password-resets/confirm",
        json={"token": token, "password": new, "password_confirmation": new},
    )
    assert done.status_code == 204
    assert (await client.get("/auth/me", headers=old_session)).status_code == 401
    replay = await client.post(
        "/auth/password-resets/confirm",
        json={"token": token, "password": new, "password_confirmation": new},
    )
    assert replay.status_code == 400

    headers = await bearer(client, email, new)
    wrong = await client.post(
        "/auth/password",
        json={"current_password": "wrong", "password": PASSWORD, "password_confirmation": PASSWORD},
        headers=headers,
    )
    assert wrong.status_code == 400 and "current_password" in wrong.json()["fields"]
    changed = await client.post(
        "/auth/password",
        json={"current_password": new, "password": PASSWORD, "password_confirmation": PASSWORD},
        headers=headers,
    )
    assert changed.status_code == 204
    await bearer(client, email, PASSWORD)


async def test_certifying_licences_later(client: httpx.AsyncClient) -> None:
    email = unique("user")
    account = (
        await request_account(
            client, email, await entity_id(client, "Formation_6_11"), certifications=[]
        )
    ).json()
    await client.post(
        f"/registry/accounts/{account['id']}/validate",
        json={},
        headers=await bearer(client, FORMATION_RD),
    )
    headers = await bearer(client, email, PASSWORD)
    certified = await client.post(
        "/auth/certifications", json={"licences": ["pwh"]}, headers=headers
    )
    assert certified.json() == ["pwh"]
    charter = await client.post(
        "/auth/certifications", json={"licences": ["charte"]}, headers=headers
    )
    assert charter.status_code == 400


# -- who may do what -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/registry/adhesions"),
        ("POST", "/registry/adhesions/1/accept"),
        ("POST", "/registry/adhesions/1/reject"),
        ("GET", "/registry/outbox"),
        ("GET", "/registry/audit"),
        ("POST", "/registry/entities/1/merge"),
        ("PUT", "/registry/entities/1/relay"),
    ],
)
async def test_instructor_endpoints_refuse_users(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    user = await bearer(client, "bruce.wayne@formation.example")
    response = await client.request(
        method, path, json={"reason": "x" * 20, "into": 2, "relay": True}, headers=user
    )
    assert response.status_code == 403
    anonymous = await client.request(method, path, json={})
    assert anonymous.status_code == 401


async def test_verification_links_are_single_use_and_expire(
    client: httpx.AsyncClient, database: str
) -> None:
    email = unique("x")
    await client.post("/registry/email-verifications", json={"email": email, "purpose": "adhesion"})
    token = await link(client, email, "/portail/verification")
    first = await client.post("/registry/email-verifications/confirm", json={"token": token})
    assert first.status_code == 200
    second = await client.post("/registry/email-verifications/confirm", json={"token": token})
    assert second.status_code == 400 and "déjà été utilisé" in second.json()["description"]
    tampered = await client.post(
        "/registry/email-verifications/confirm", json={"token": token[:-3] + "abc"}
    )
    assert tampered.status_code == 400 and "pas valide" in tampered.json()["description"]

    late = unique("late")
    await client.post("/registry/email-verifications", json={"email": late, "purpose": "adhesion"})
    token = await link(client, late, "/portail/verification")
    with psycopg.connect(database) as conn:
        conn.execute(
            "UPDATE registry.link_tokens SET expires_at = now() - interval '1 minute' WHERE email = %s",
            (late,),
        )
    expired = await client.post("/registry/email-verifications/confirm", json={"token": token})
    assert expired.status_code == 400 and "expiré" in expired.json()["description"]

    bad_ticket = await client.post(
        "/registry/adhesions", data={"ticket": "forged", "adhesion": "{}"}
    )
    assert bad_ticket.status_code == 400


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"entity": {"acronym": "X"}}, "entity.name"),
        ({"legal_representative": {"email": "pas-une-adresse"}}, "legal_representative.email"),
        (
            {"legal_representative": {"email_confirmation": "autre@exemple.fr"}},
            "legal_representative.email_confirmation",
        ),
        (
            {"referent": {"password_confirmation": "Autre#Mot2Passe"}},
            "referent.password_confirmation",
        ),
        ({"sector": {"category": "private_rd"}}, "sector.category"),
        ({"entity": {"postal_code": "340"}}, "entity.postal_code"),
        ({"entity": {"nationality": "Atlantide"}}, "entity.nationality"),
    ],
)
async def test_adhesion_errors_name_the_field_and_change_nothing(
    client: httpx.AsyncClient, change: dict[str, dict[str, str]], field: str
) -> None:
    body = adhesion()
    for part, values in change.items():
        if part == "entity" and values == {"acronym": "X"}:
            body["entity"] = {"acronym": "X"}
        else:
            body[part] = {**body[part], **values}
    referent = unique("bad")
    before = await client.get("/registry/entities", params={"q": body["entity"].get("name", "X")})
    response = await submit(client, body, referent)
    assert response.status_code == 400, response.text
    assert field in response.json()["fields"], response.json()
    after = await client.get("/registry/entities", params={"q": body["entity"].get("name", "X")})
    assert before.json()["total"] == after.json()["total"]
    assert not any(m["template"] == "adhesion_submitted" for m in await mails(client, referent))


async def test_malformed_requests_get_a_4xx(client: httpx.AsyncClient) -> None:
    verified = await ticket(client, unique("x"), "adhesion")
    not_json = await client.post("/registry/adhesions", data={"ticket": verified, "adhesion": "{"})
    assert not_json.status_code == 400
    missing = await client.post("/registry/adhesions", data={"ticket": verified})
    assert missing.status_code == 400
    bad_email = await client.post(
        "/registry/email-verifications", json={"email": "nope", "purpose": "adhesion"}
    )
    assert bad_email.status_code == 400
    no_entity = await client.post(
        "/registry/email-verifications",
        json={"email": unique("x"), "purpose": "account", "entity_id": 999999},
    )
    assert no_entity.status_code == 400
    assert (await client.get("/registry/entities", params={"page": 0})).status_code == 400


async def test_entity_search_ignores_accents_and_case(client: httpx.AsyncClient) -> None:
    found = await client.get("/registry/entities", params={"q": "PRIVE r&d"})
    assert [e["acronym"] for e in found.json()["entities"]] == ["PRIVRD"]
    nimes = await client.get("/registry/entities", params={"q": "collectivite"})
    assert "AUTRE" in [e["acronym"] for e in nimes.json()["entities"]]
    pending = await client.get("/registry/entities", params={"q": "Sète"})
    assert pending.json()["total"] == 0  # awaiting instruction: not adherent yet


junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
)


@pytest.fixture(scope="module")
async def verified(client: httpx.AsyncClient) -> str:
    """One verified address for all the fuzzed adhesions."""
    return await ticket(client, unique("fuzz"), "adhesion")


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    part=st.sampled_from(["entity", "sector", "legal_representative", "referent", "mission"]),
    field=st.sampled_from(
        [
            "acronym",
            "name",
            "nationality",
            "postal_code",
            "category",
            "activity_sector",
            "email",
            "email_confirmation",
            "password",
            "phone",
            "north",
            "valid_from",
            "sensors",
            "title",
        ]
    ),
    value=junk,
)
async def test_fuzzed_adhesions_never_fail_on_the_server(
    client: httpx.AsyncClient, verified: str, part: str, field: str, value: object
) -> None:
    body = adhesion("private_contractor", partner={"public_entity_id": 1})
    body[part] = {**body[part], field: value}
    data = {"ticket": verified, "adhesion": orjson.dumps(body).decode()}
    response = await client.post("/registry/adhesions", data=data)
    assert response.status_code < 500, response.text


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.dictionaries(st.sampled_from(["email", "purpose", "entity_id", "token", "name"]), junk)
)
async def test_fuzzed_json_endpoints_never_fail_on_the_server(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    for path in (
        "/registry/email-verifications",
        "/registry/email-verifications/confirm",
        "/auth/password-resets",
        "/auth/password-resets/confirm",
    ):
        response = await client.post(
            path, content=orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
        )
        assert response.status_code < 500, (path, response.text)


async def test_instructors_merge_and_group_entities(client: httpx.AsyncClient) -> None:
    instructor = await bearer(client, INSTRUCTOR)
    source, source_referent = await adherent(client)
    target, _ = await adherent(client)
    group, _ = await adherent(client)
    same = await client.post(
        f"/registry/entities/{source}/merge", json={"into": source}, headers=instructor
    )
    assert same.status_code == 400
    merged = await client.post(
        f"/registry/entities/{source}/merge", json={"into": target}, headers=instructor
    )
    assert merged.status_code == 200 and merged.json()["id"] == target
    moved = await client.get(f"/registry/entities/{target}/accounts", headers=instructor)
    assert source_referent in {a["email"] for a in moved.json()}
    twice = await client.post(
        f"/registry/entities/{source}/merge", json={"into": target}, headers=instructor
    )
    assert twice.status_code == 409
    grouped = await client.post(
        f"/registry/entities/{group}/members", json={"member_ids": [target]}, headers=instructor
    )
    assert grouped.status_code == 200
    itself = await client.post(
        f"/registry/entities/{group}/members", json={"member_ids": [group]}, headers=instructor
    )
    assert itself.status_code == 400
    audit = await client.get(
        "/registry/audit",
        params={"subject_type": "entity", "subject_id": source},
        headers=instructor,
    )
    assert "entity.merged" in [e["action"] for e in audit.json()]
