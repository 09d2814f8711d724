"""The instructors' administration through the API and the pages, on the real database:
merging entities (what moves, the old names still found), super-entities, suspending an entity
or one of its licences (every kind of credential refused on its next request), the account
search, the RD and RL hand-overs, and bad input refused with nothing changed."""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from typer.testing import CliRunner

from stac_api.cli import app as cli
from tests.registry import INSTRUCTOR, PASSWORD, bearer, link, request_account, unique
from tests.test_registry_api import adherent

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def shown(response: httpx.Response) -> str:
    return html.unescape(response.text)


async def validated_member(
    client: httpx.AsyncClient, instructor: dict[str, str], entity: int, certifications: list[str]
) -> tuple[int, str, dict[str, str], str]:
    """A new validated account of the entity: its id, e-mail, bearer headers and API key."""
    email = unique("membre")
    created = await request_account(client, email, entity, certifications=certifications)
    assert created.status_code == 201, created.text
    account = created.json()["id"]
    validated = await client.post(
        f"/registry/accounts/{account}/validate", json={}, headers=instructor
    )
    assert validated.status_code == 200, validated.text
    headers = await bearer(client, email, PASSWORD)
    key = await client.post("/auth/api-keys", json={"name": "QGIS"}, headers=headers)
    return account, email, headers, key.json()["key"]


async def sign_in(pages: httpx.AsyncClient, email: str, password: str) -> None:
    form = await pages.get("/connexion")
    token = CSRF.search(form.text)
    assert token
    signed_in = await pages.post(
        "/connexion", data={"csrf_token": token.group(1), "email": email, "password": password}
    )
    assert signed_in.status_code == 303, signed_in.text


def audited(database: str, entity: int) -> list[str]:
    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT action FROM registry.audit_log WHERE subject_type = 'entity' "
            "AND subject_id = %s ORDER BY id",
            (entity,),
        ).fetchall()
    return [action for (action,) in rows]


async def mailed(
    client: httpx.AsyncClient, instructor: dict[str, str], to: str, template: str
) -> list[str]:
    """The bodies of the mails of this template to this address, newest first (the outbox)."""
    outbox = await client.get("/registry/outbox", params={"to": to}, headers=instructor)
    return [m["body"] for m in outbox.json() if m["template"] == template]


@pytest.fixture(scope="module")
async def instructor(client: httpx.AsyncClient) -> dict[str, str]:
    return await bearer(client, INSTRUCTOR)


Entities = Callable[[str], Awaitable[tuple[int, str]]]


@pytest.fixture(scope="module")
def entities(client: httpx.AsyncClient) -> Entities:
    """Adherent entities of this module by role, each made once: (id, referent)."""
    made: dict[str, tuple[int, str]] = {}

    async def entity(role: str) -> tuple[int, str]:
        if role not in made:
            made[role] = await adherent(client)
        return made[role]

    return entity


@pytest.fixture(scope="module")
def spot_item(demo_items: list[dict[str, Any]]) -> dict[str, Any]:
    return next(i for i in demo_items if i["collection"] == "spot67")


# -- merge ----------------------------------------------------------------------------------


async def accepted_request(
    client: httpx.AsyncClient, instructor: dict[str, str], referent: str
) -> dict[str, Any]:
    """A SPOT tasking request of the referent's entity in a new project, accepted by an
    instructor (its km² are reserved on the entity's free quota): its id, area and project."""
    headers = await bearer(client, referent, PASSWORD)
    certified = await client.post(
        "/auth/certifications", json={"licences": ["spot67"]}, headers=headers
    )
    assert certified.status_code == 200, certified.text
    made = await client.post(
        "/ordering/projects",
        json={
            "title": "Suivi urbain",
            "kind": "SCI",
            "themes": ["Urbanisme"],
            "end_date": (datetime.now(UTC).date() + timedelta(days=300)).isoformat(),
            "description": "Suivi de l'étalement urbain.",
            "objectives": "Cartographier le bâti.",
        },
        headers=headers,
    )
    assert made.status_code == 201, made.text
    project = made.json()
    start = datetime.now(UTC) + timedelta(days=3)
    filed = await client.post(
        "/ordering/products/airbus-tasking-spot/orders",
        json={
            "bbox": [3.8, 43.55, 3.95, 43.65],
            "datetime": f"{start.isoformat()}/{(start + timedelta(days=30)).isoformat()}",
            "order_parameters": {"project_id": project["id"]},
        },
        headers=headers,
    )
    assert filed.status_code == 201, filed.text
    order = filed.json()
    accepted = await client.post(
        f"/ordering/orders/{order['id']}/actions/accept", headers=instructor
    )
    assert accepted.status_code == 200, accepted.text
    return {
        "id": order["id"],
        "area_km2": order["properties"]["dinamis:area_km2"],
        "project": project["id"],
    }


def merge_audit(database: str, source: int) -> list[dict[str, Any]]:
    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT details FROM registry.audit_log WHERE subject_type = 'entity' "
            "AND subject_id = %s AND action = 'entity.merged'",
            (source,),
        ).fetchall()
    return [details for (details,) in rows]


async def test_merge_moves_everything_and_the_old_names_stay_found(
    client: httpx.AsyncClient, instructor: dict[str, str], entities: Entities, database: str
) -> None:
    source, source_referent = await entities("merged")
    target, target_referent = await entities("kept")
    # Free quotas: the source's SPOT one raised to 20 000 km², the target's 12 000; each has
    # an accepted request holding km² (reserved).
    year = datetime.now(UTC).year
    for entity, allowed in ((source, 20_000), (target, 12_000)):
        quota = {"entity_id": entity, "family": "SPOT", "year": year, "allowed_km2": allowed}
        assert (await client.put("/ordering/quotas", json=quota, headers=instructor)).is_success
    source_request = await accepted_request(client, instructor, source_referent)
    target_request = await accepted_request(client, instructor, target_referent)
    held = source_request["area_km2"] + target_request["area_km2"]
    english = await client.put(
        "/auth/me/language",
        json={"language": "en"},
        headers=await bearer(client, target_referent, PASSWORD),
    )
    assert english.status_code == 200, english.text
    with psycopg.connect(database) as conn:
        (name, acronym) = conn.execute(
            "SELECT name, acronym FROM registry.entities WHERE id = %s", (source,)
        ).fetchone() or ("", "")
        (target_name,) = conn.execute(
            "SELECT name FROM registry.entities WHERE id = %s", (target,)
        ).fetchone() or ("",)

    # Bad input changes nothing: into itself, into an unknown entity.
    itself = await client.post(
        f"/registry/entities/{source}/merge", json={"into": source}, headers=instructor
    )
    assert itself.status_code == 400 and "elle-même" in itself.json()["description"]
    unknown = await client.post(
        f"/registry/entities/{source}/merge", json={"into": 2_000_000_000}, headers=instructor
    )
    assert unknown.status_code == 404

    merged = await client.post(
        f"/registry/entities/{source}/merge", json={"into": target}, headers=instructor
    )
    assert merged.status_code == 200, merged.text
    assert name in merged.json()["other_names"]

    accounts = await client.get(f"/registry/entities/{target}/accounts", headers=instructor)
    assert {source_referent, target_referent} <= {a["email"] for a in accounts.json()}
    licences = await client.get(f"/registry/entities/{target}/licences", headers=instructor)
    assert "spot67" in [lic["code"] for lic in licences.json()]
    with psycopg.connect(database) as conn:
        owner = conn.execute(
            "SELECT entity_id FROM ordering.projects WHERE id = %s", (source_request["project"],)
        ).fetchone()
        left = conn.execute(
            "SELECT (SELECT count(*) FROM registry.accounts WHERE entity_id = %(s)s) + "
            "(SELECT count(*) FROM registry.entity_acceptances WHERE entity_id = %(s)s)",
            {"s": source},
        ).fetchone()
    assert owner == (target,) and left == (0,)

    # One SPOT quota for the target this year: the larger allowance, both reservations.
    quotas = await client.get("/ordering/quotas", params={"entity_id": target}, headers=instructor)
    (spot,) = [q for q in quotas.json()["quotas"] if q["family"] == "SPOT"]
    assert spot["allowed_km2"] == 20_000 and spot["reserved_km2"] == pytest.approx(held)
    assert spot["period"].startswith(str(year)) and spot["entity"] == target_name
    gone = await client.get("/ordering/quotas", params={"entity_id": source}, headers=instructor)
    assert gone.json()["quotas"] == []
    (audit,) = merge_audit(database, source)
    assert audit["moved"]["projects"] == 1 and audit["moved"]["requests"] == 1
    assert audit["moved"]["quotas"] == [
        {
            "family": "SPOT",
            "year": year,
            "allowed_km2": 20_000,
            "reserved_km2": spot["reserved_km2"],
            "used_km2": spot["used_km2"],
        }
    ]
    # The moved request's km² are released from the target's quota, where they now are.
    cancelled = await client.post(
        f"/ordering/orders/{source_request['id']}/actions/cancel",
        json={"reason": "Fusion"},
        headers=instructor,
    )
    assert cancelled.status_code == 200, cancelled.text
    after = await client.get("/ordering/quotas", params={"entity_id": target}, headers=instructor)
    (spot,) = [q for q in after.json()["quotas"] if q["family"] == "SPOT"]
    assert spot["reserved_km2"] == pytest.approx(target_request["area_km2"])

    # The portal's search finds the target by the old name.
    found = await client.get("/registry/entities", params={"q": name})
    assert [e["id"] for e in found.json()["entities"]] == [target]
    portal = await client.get("/portail", params={"q": name})
    assert "Autre(s) nom(s) de l'Entité" in shown(portal) and name in shown(portal)
    assert acronym in merged.json()["other_names"] or acronym == merged.json()["acronym"]

    # Audited, and mailed to the moved accounts and the target's referent, each in their
    # language, with the quotas as the merge joined them.
    assert "entity.merged" in audited(database, source)
    (french,) = await mailed(client, instructor, source_referent, "entity_merged")
    (english,) = await mailed(client, instructor, target_referent, "entity_merged")
    assert "le plus grand des deux quotas est gardé" in french.replace("\n", " ")
    assert f"- SPOT 6/7 {year} : quota gratuit de 20\u202f000 km², " in french
    assert "the larger of the two quotas is kept" in english.replace("\n", " ")
    assert f"- SPOT 6/7 {year}: free quota of 20,000 km², " in english
    again = await client.post(
        f"/registry/entities/{source}/merge", json={"into": target}, headers=instructor
    )
    assert again.status_code == 409


async def test_super_entities(
    client: httpx.AsyncClient, instructor: dict[str, str], entities: Entities
) -> None:
    group, _ = await entities("kept")
    member, member_referent = await entities("member")
    grouped = await client.post(
        f"/registry/entities/{group}/members", json={"member_ids": [member]}, headers=instructor
    )
    assert grouped.status_code == 200, grouped.text
    assert await mailed(client, instructor, member_referent, "entity_grouped")
    # A group under its own member would be a cycle: refused.
    cycle = await client.post(
        f"/registry/entities/{member}/members", json={"member_ids": [group]}, headers=instructor
    )
    assert cycle.status_code == 400 and "member_ids" in cycle.json()["fields"]
    removed = await client.delete(
        f"/registry/entities/{group}/members/{member}", headers=instructor
    )
    assert removed.status_code == 200
    twice = await client.delete(f"/registry/entities/{group}/members/{member}", headers=instructor)
    assert twice.status_code == 400 and "membre" in twice.json()["description"]


# -- suspensions ----------------------------------------------------------------------------


async def test_a_suspended_entity_is_refused_on_the_next_request_whatever_the_credential(
    client: httpx.AsyncClient,
    pages: httpx.AsyncClient,
    instructor: dict[str, str],
    entities: Entities,
    spot_item: dict[str, Any],
    database: str,
) -> None:
    entity, referent = await entities("suspended")
    _, email, headers, key = await validated_member(client, instructor, entity, ["spot67"])
    data = f"http://testserver/collections/spot67/items/{spot_item['id']}/assets/data"
    signed = (await client.get("/sign", params={"href": data}, headers=headers)).json()["href"]
    token = (await client.get("/token/spot67", headers={"X-API-Key": key})).json()["token"]
    assert (await client.get(signed)).status_code == 200  # the verdict is now cached
    await sign_in(pages, email, PASSWORD)
    assert (await pages.get("/compte")).status_code == 200

    too_long = await client.post(
        f"/registry/entities/{entity}/suspend", json={"reason": "x" * 1001}, headers=instructor
    )
    assert too_long.status_code == 400
    by_user = await client.post(f"/registry/entities/{entity}/suspend", json={}, headers=headers)
    assert by_user.status_code == 403
    suspended = await client.post(
        f"/registry/entities/{entity}/suspend",
        json={"reason": "Convention échue."},
        headers=instructor,
    )
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"

    for credential in (headers, {"X-API-Key": key}):
        refused = await client.get("/auth/me", headers=credential)
        assert refused.status_code == 401 and "suspendue" in refused.json()["description"]
    assert (await client.get(signed)).status_code == 403
    assert (await client.get(data, params={"token": token})).status_code == 403
    assert (await pages.get("/compte")).status_code == 303  # the session no longer signs in
    again = await client.post("/auth/token", data={"username": email, "password": PASSWORD})
    assert again.status_code == 401 and "suspendue" in again.json()["description"]
    notice = await mailed(client, instructor, referent, "entity_suspended")
    assert "Convention échue" in notice[0]
    twice = await client.post(f"/registry/entities/{entity}/suspend", json={}, headers=instructor)
    assert twice.status_code == 409

    reinstated = await client.post(f"/registry/entities/{entity}/reinstate", headers=instructor)
    assert reinstated.status_code == 200 and reinstated.json()["status"] == "active"
    assert (await client.get("/auth/me", headers={"X-API-Key": key})).status_code == 200
    assert (await client.get(signed)).status_code == 200
    assert audited(database, entity)[-2:] == ["entity.suspended", "entity.reinstated"]
    unknown = await client.post(
        "/registry/entities/2000000000/suspend", json={}, headers=instructor
    )
    assert unknown.status_code == 404


async def test_a_suspended_licence_stops_its_downloads_at_once(
    client: httpx.AsyncClient,
    instructor: dict[str, str],
    entities: Entities,
    spot_item: dict[str, Any],
) -> None:
    entity, referent = await entities("suspended")
    _, _, headers, key = await validated_member(client, instructor, entity, ["spot67"])
    data = f"http://testserver/collections/spot67/items/{spot_item['id']}/assets/data"
    signed = (await client.get("/sign", params={"href": data}, headers=headers)).json()["href"]
    assert (await client.get(signed)).status_code == 200

    url = f"/registry/entities/{entity}/licences"
    not_accepted = await client.post(f"{url}/spot-swh/suspend", json={}, headers=instructor)
    assert not_accepted.status_code == 400 and "n'a pas accepté" in not_accepted.text
    bad_action = await client.post(f"{url}/spot67/delete", json={}, headers=instructor)
    assert bad_action.status_code in (400, 404, 422)
    suspended = await client.post(
        f"{url}/spot67/suspend", json={"reason": "Usage non conforme."}, headers=instructor
    )
    assert suspended.status_code == 200 and suspended.json()["suspended_at"]

    assert (await client.get(signed)).status_code == 403
    for credential in (headers, {"X-API-Key": key}):
        sign = await client.get("/sign", params={"href": data}, headers=credential)
        assert sign.status_code == 403, sign.text
        me = (await client.get("/auth/me", headers=credential)).json()
        assert "spot67" not in me["licences_accepted_by_entity"]
    assert await mailed(client, instructor, referent, "licence_suspended")
    twice = await client.post(f"{url}/spot67/suspend", json={}, headers=instructor)
    assert twice.status_code == 409

    reinstated = await client.post(f"{url}/spot67/reinstate", json={}, headers=instructor)
    assert reinstated.status_code == 200 and reinstated.json()["suspended_at"] is None
    assert (await client.get("/sign", params={"href": data}, headers=headers)).status_code == 200


# -- accounts and hand-overs ----------------------------------------------------------------


async def test_account_search_across_entities(
    client: httpx.AsyncClient, instructor: dict[str, str], entities: Entities
) -> None:
    _, referent = await entities("member")
    found = await client.get("/registry/accounts", params={"q": referent}, headers=instructor)
    assert found.status_code == 200
    assert [a["email"] for a in found.json()["accounts"]] == [referent]
    by_person = await client.get(
        "/registry/accounts", params={"q": "bruce WAYNE", "status": "active"}, headers=instructor
    )
    assert "bruce.wayne@formation.example" in [a["email"] for a in by_person.json()["accounts"]]
    assert all(a["status"] == "active" for a in by_person.json()["accounts"])
    bad = await client.get("/registry/accounts", params={"status": "bogus"}, headers=instructor)
    assert bad.status_code == 400 and "Statut inconnu" in bad.json()["description"]
    user = await client.get("/registry/accounts", headers=await bearer(client, referent, PASSWORD))
    assert user.status_code == 403


async def test_referent_and_legal_representative_hand_over(
    client: httpx.AsyncClient,
    pages: httpx.AsyncClient,
    instructor: dict[str, str],
    entities: Entities,
    database: str,
) -> None:
    entity, referent = await entities("member")
    successor, successor_email, _, _ = await validated_member(client, instructor, entity, [])
    other_referent = "sans.pleiades@autre.example"  # of another entity

    # To an account of another entity: refused, nothing changes.
    foreign = await client.get(
        "/registry/accounts", params={"q": other_referent}, headers=instructor
    )
    foreign_id = foreign.json()["accounts"][0]["id"]
    headers = await bearer(client, referent, PASSWORD)
    refused = await client.post(
        f"/registry/entities/{entity}/referent", json={"account_id": foreign_id}, headers=headers
    )
    assert refused.status_code == 400 and "account_id" in refused.json()["fields"]
    assert "referent" in (await client.get("/auth/me", headers=headers)).json()["roles"]

    # Started by an instructor: the new RD is told, and so is the previous one.
    handed = await client.post(
        f"/registry/entities/{entity}/referent", json={"account_id": successor}, headers=instructor
    )
    assert handed.status_code == 200 and "referent" in handed.json()["roles"]
    assert "referent" not in (await client.get("/auth/me", headers=headers)).json()["roles"]
    assert await mailed(client, instructor, referent, "referent_replaced")
    assert await mailed(client, instructor, successor_email, "referent_granted")

    # The new RD names a new RL, who must e-validate the charter and the licences again.
    rl = unique("nouveau-rl")
    person = {"first_name": "Ada", "last_name": "Byron", "function": "Directrice",
              "email": rl, "email_confirmation": rl, "nationality": "France"}  # fmt: skip
    new_rd = await bearer(client, successor_email, PASSWORD)
    changed = await client.put(
        f"/registry/entities/{entity}/legal-representative", json=person, headers=new_rd
    )
    assert changed.status_code == 200, changed.text
    await sign_in(pages, successor_email, PASSWORD)
    awaited = "Validation électronique attendue"
    assert awaited in shown(await pages.get("/registre/entite"))
    assert await mailed(client, instructor, rl, "legal_representative_link")
    token = await link(client, rl, "/portail/adhesion/validation")
    view = await client.get(f"/registry/adhesions/validation/{token}")
    codes = [lic["code"] for lic in view.json()["licences"]]
    partial = await client.post(
        f"/registry/adhesions/validation/{token}", json={"accepted": codes[:1]}
    )
    assert partial.status_code == 400
    validated = await client.post(
        f"/registry/adhesions/validation/{token}", json={"accepted": codes}
    )
    assert validated.status_code == 200, validated.text
    with psycopg.connect(database) as conn:
        signers = conn.execute(
            "SELECT DISTINCT accepted_by FROM registry.entity_acceptances WHERE entity_id = %s",
            (entity,),
        ).fetchall()
        validated_at = conn.execute(
            "SELECT validated_at FROM registry.legal_representatives WHERE entity_id = %s",
            (entity,),
        ).fetchone()
    assert signers == [(f"Ada Byron <{rl}>",)] and validated_at and validated_at[0]
    assert "entity.legal_representative_validated" in audited(database, entity)
    assert awaited not in shown(await pages.get("/registre/entite"))


# -- pages ----------------------------------------------------------------------------------


async def test_instructor_pages_suspend_search_and_confirm_a_merge(
    pages: httpx.AsyncClient, entities: Entities
) -> None:
    entity, referent = await entities("suspended")
    target, _ = await entities("kept")
    await sign_in(pages, INSTRUCTOR, "Toto@34090")
    entity_page = await pages.get("/registre/entite", params={"id": entity})
    assert "Suspendre l'adhésion" in shown(entity_page)
    csrf = CSRF.search(entity_page.text)
    assert csrf
    suspended = await pages.post(
        f"/registre/entites/{entity}/suspendre",
        data={"csrf_token": csrf.group(1), "reason": "Contrôle"},
    )
    assert suspended.status_code == 303
    after = shown(await pages.get(suspended.headers["location"]))
    assert "suspendue" in after and "Rétablir l'adhésion" in after
    twice = await pages.post(
        f"/registre/entites/{entity}/suspendre", data={"csrf_token": csrf.group(1)}
    )
    assert "Seule une entité adhérente" in shown(await pages.get(twice.headers["location"]))
    licence = await pages.post(
        f"/registre/entites/{entity}/suspendre-licence",
        data={"csrf_token": csrf.group(1), "code": "pwh"},
    )
    assert "Suspendue le" in shown(await pages.get(licence.headers["location"]))
    reinstated = await pages.post(
        f"/registre/entites/{entity}/retablir", data={"csrf_token": csrf.group(1)}
    )
    assert "rétablie" in shown(await pages.get(reinstated.headers["location"]))

    found = await pages.get("/registre/comptes", params={"q": referent})
    assert found.status_code == 200 and referent in shown(found)
    bad = await pages.get("/registre/comptes", params={"statut": "bogus"})
    assert bad.status_code == 200 and "Statut inconnu" in shown(bad)

    confirm = await pages.get(f"/registre/entites/{entity}/fusion", params={"into": target})
    assert "licence(s) acceptée(s)" in shown(confirm) and "projet(s)" in shown(confirm)
    assert "quota(s) de gratuité" in shown(confirm) and "le plus grand quota" in shown(confirm)
    itself = await pages.post(
        f"/registre/entites/{entity}/fusionner",
        data={"csrf_token": csrf.group(1), "into": entity, "confirme": "oui"},
    )
    assert "elle-même" in shown(await pages.get(itself.headers["location"]))


# -- the first administrator ----------------------------------------------------------------

FIRST_ADMIN = unique("premier-admin")
ADMIN_PASSWORD = "Premier#Instructeur2026"


def test_create_admin_works_in_production_mode(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    monkeypatch.setenv("DATABASE_URL", database)
    monkeypatch.setenv("DINAMIS_MODE", "production")
    monkeypatch.setenv("DINAMIS_PUBLIC_URL", "https://dinamis.example")
    unsafe = runner.invoke(cli, ["accounts", "create-admin", FIRST_ADMIN, "--password-stdin"])
    assert unsafe.exit_code == 1 and "DINAMIS_MAIL_SMTP_HOST" in unsafe.output
    monkeypatch.setenv("DINAMIS_MAIL_SMTP_HOST", "127.0.0.1")

    command = ["accounts", "create-admin", FIRST_ADMIN, "--password-stdin"]
    weak = runner.invoke(cli, command, input="court\n")
    assert weak.exit_code == 1 and "10 caractères" in weak.output
    not_an_address = runner.invoke(cli, ["accounts", "create-admin", "personne"], input="x\n")
    assert not_an_address.exit_code == 1 and "not an e-mail" in not_an_address.output
    created = runner.invoke(cli, command, input=f"{ADMIN_PASSWORD}\n")
    assert created.exit_code == 0, created.output
    assert f"Instructor {FIRST_ADMIN} created" in created.output
    again = runner.invoke(cli, command, input="Autre#MotDePasse2026\n")
    assert again.exit_code == 0 and "already exists" in again.output
    prompted = runner.invoke(
        cli, ["accounts", "create-admin", FIRST_ADMIN], input="Autre#MotDePasse2026\n" * 2
    )
    assert prompted.exit_code == 0 and "nothing changed" in prompted.output
    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT a.status, a.roles, e.name FROM registry.accounts a "
            "JOIN registry.entities e ON e.id = a.entity_id WHERE a.email = %s",
            (FIRST_ADMIN,),
        ).fetchall()
    assert rows == [("active", ["user", "instructor"], "Instance DINAMIS")]


async def test_the_first_administrator_signs_in_and_administers(
    client: httpx.AsyncClient,
) -> None:
    headers = await bearer(client, FIRST_ADMIN, ADMIN_PASSWORD)  # not the second password
    assert (await client.get("/registry/accounts", headers=headers)).status_code == 200
