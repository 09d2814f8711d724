"""Helpers of the registry tests: sign-in, the outbox (instructors' view) and the development
mailbox (the recipients' view), request bodies."""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx
import orjson

DEMO_PASSWORD = "Toto@34090"
PASSWORD = "Geomatique#2026"
INSTRUCTOR = "instructeur@dinamis.example"
FORMATION_RD = "jane.doe@formation.example"


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}@exemple.fr"


async def bearer(
    client: httpx.AsyncClient, email: str, password: str = DEMO_PASSWORD
) -> dict[str, str]:
    response = await client.post("/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def mails(client: httpx.AsyncClient, to: str) -> list[dict[str, Any]]:
    """The mails to an address, newest first, read from the outbox as an instructor."""
    response = await client.get(
        "/registry/outbox", params={"to": to}, headers=await bearer(client, INSTRUCTOR)
    )
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()
    return messages


async def link(client: httpx.AsyncClient, to: str, path: str) -> str:
    """The token of the newest link to `path` mailed to `to`, read as its recipient reads it:
    in the development mailbox (the instructors' outbox masks it)."""
    mailbox = await client.get("/portail/courriels", params={"a": to})
    assert mailbox.status_code == 200, mailbox.text
    if found := re.search(rf"{re.escape(path)}/([\w.-]+)", mailbox.text):
        return found.group(1)
    raise AssertionError(f"no {path} link mailed to {to}")


async def ticket(
    client: httpx.AsyncClient, email: str, purpose: str, entity_id: int | None = None
) -> str:
    response = await client.post(
        "/registry/email-verifications",
        json={"email": email, "purpose": purpose, "entity_id": entity_id},
    )
    assert response.status_code == 202, response.text
    token = await link(client, email, "/portail/verification")
    confirmed = await client.post("/registry/email-verifications/confirm", json={"token": token})
    assert confirmed.status_code == 200, confirmed.text
    value: str = confirmed.json()["ticket"]
    return value


def adhesion(
    category: str = "local_authority", rl_email: str | None = None, **parts: Any
) -> dict[str, Any]:
    """An adhesion as the API takes it (the seed's Formation_6_Novembre by default)."""
    private = category in ("private_rd", "private_contractor")
    rl_email = rl_email or unique("rl")
    body: dict[str, Any] = {
        "entity": {
            "acronym": "F6N",
            "name": f"Formation {secrets.token_hex(3)}",
            "nationality": "France",
            "address": "500 Rue Jean-François Breton",
            "postal_code": "34090",
            "city": "Montpellier",
        },
        "sector": {
            "interest_domain": "Aménagement du Territoire",
            "activity_sector": "private" if private else "public",
            "category": category,
            "entity_type": "Communes",
        },
        "legal_representative": {
            "first_name": "John",
            "last_name": "Doe",
            "function": "Directeur",
            "email": rl_email,
            "email_confirmation": rl_email,
            "nationality": "France",
        },
        "referent": {
            "first_name": "Jane",
            "last_name": "Doe",
            "function": "géomaticienne",
            "phone": "0612345678",
            "nationality": "France",
            "password": PASSWORD,
            "password_confirmation": PASSWORD,
        },
    }
    if private:
        body["mission"] = {
            "title": "MaMission",
            "valid_from": "2025-10-28",
            "valid_to": "2026-10-01",
            "north": 43.7129,
            "west": 3.6872,
            "east": 4.0313,
            "south": 43.504,
            "sensors": [
                {"sensor": "spot67", "valid_from": "2020-01-01", "valid_to": "2022-12-31"},
                {"sensor": "pleiades", "valid_from": "2020-01-01", "valid_to": "2022-12-31"},
            ],
        }
    for key, value in parts.items():
        body[key] = value
    return body


def pdf(size: int = 2000) -> bytes:
    return b"%PDF-1.4\n" + b"0" * size + b"\n%%EOF\n"


async def submit(
    client: httpx.AsyncClient,
    body: dict[str, Any],
    referent: str,
    files: dict[str, Any] | None = None,
    verified: str | None = None,
) -> httpx.Response:
    verified = verified or await ticket(client, referent, "adhesion")
    return await client.post(
        "/registry/adhesions",
        data={"ticket": verified, "adhesion": orjson.dumps(body).decode()},
        files=files,
    )


async def rl_validate(client: httpx.AsyncClient, rl_email: str) -> httpx.Response:
    token = await link(client, rl_email, "/portail/adhesion/validation")
    view = await client.get(f"/registry/adhesions/validation/{token}")
    assert view.status_code == 200, view.text
    codes = [lic["code"] for lic in view.json()["licences"]]
    return await client.post(f"/registry/adhesions/validation/{token}", json={"accepted": codes})


async def entity_id(client: httpx.AsyncClient, acronym: str) -> int:
    found = await client.get("/registry/entities", params={"q": acronym})
    return next(e["id"] for e in found.json()["entities"] if e["acronym"] == acronym)


async def request_account(
    client: httpx.AsyncClient, verified_email: str, entity: int, **changes: object
) -> httpx.Response:
    verified = await ticket(client, verified_email, "account", entity)
    body = {
        "ticket": verified,
        "entity_id": entity,
        "first_name": "Bruce",
        "last_name": "Wayne",
        "function": "Agence spatiale de Gotham",
        "phone": "06 12 34 56 78",
        "email": verified_email,
        "email_confirmation": verified_email,
        "password": PASSWORD,
        "password_confirmation": PASSWORD,
        "nationality": "France",
        "certifications": ["spot67", "pleiades-cat1"],
        **changes,
    }
    return await client.post("/registry/accounts", json=body)


async def member(
    client: httpx.AsyncClient, acronym: str, certifications: list[str]
) -> tuple[int, str, str]:
    """A new validated account of an entity, with an API key: (account id, e-mail, key)."""
    email = unique("member")
    entity = await entity_id(client, acronym)
    account = (await request_account(client, email, entity, certifications=certifications)).json()
    validated = await client.post(
        f"/registry/accounts/{account['id']}/validate",
        json={},
        headers=await bearer(client, INSTRUCTOR),
    )
    assert validated.status_code == 200, validated.text
    created = await client.post(
        "/auth/api-keys", json={"name": "tests"}, headers=await bearer(client, email, PASSWORD)
    )
    return account["id"], email, created.json()["key"]
