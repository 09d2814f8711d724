"""The registry's lifecycle jobs, each step run with a chosen "now" instead of waiting: expiry
notices (30 and 7 days before, once each), the expiry applied at its date (a real request is
refused from then on), weekly reminders to legal representatives who have not e-validated,
and the purge of abandoned forms and dead links."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from extensions.services import Services
from registry_plugin.domain import lifecycle
from tests.registry import (
    INSTRUCTOR,
    PASSWORD,
    adhesion,
    bearer,
    link,
    pdf,
    request_account,
    rl_validate,
    submit,
    unique,
)
from tests.test_registry_api import accept, adherent
from tests.test_registry_pages import start_adhesion


@pytest.fixture(scope="module")
def services(app: FastAPI) -> Services:
    found: Services = app.state.services
    return found


run = lifecycle.run_step  # one step of the lifecycle task, committed as the task commits it


Outbox = Callable[[str, str], Awaitable[list[dict[str, str]]]]


@pytest.fixture(scope="module")
async def outbox(client: httpx.AsyncClient) -> Outbox:
    """The mails of a template to an address, newest first, read as one instructor."""
    headers = await bearer(client, INSTRUCTOR)

    async def read(address: str, template: str) -> list[dict[str, str]]:
        found = await client.get("/registry/outbox", params={"to": address}, headers=headers)
        return [m for m in found.json() if m["template"] == template]

    return read


def days(n: int) -> datetime:
    return datetime.now(UTC) + timedelta(days=n)


async def member_until(
    client: httpx.AsyncClient, entity: int, expires_on: date
) -> tuple[int, str, str]:
    """A validated account of the entity expiring on that date, with an API key."""
    email = unique("expire")
    account = (await request_account(client, email, entity, certifications=["spot67"])).json()
    validated = await client.post(
        f"/registry/accounts/{account['id']}/validate",
        json={"expires_on": expires_on.isoformat()},
        headers=await bearer(client, INSTRUCTOR),
    )
    assert validated.status_code == 200, validated.text
    key = await client.post(
        "/auth/api-keys", json={"name": "cron"}, headers=await bearer(client, email, PASSWORD)
    )
    return account["id"], email, key.json()["key"]


@pytest.fixture(scope="module")
async def entity(client: httpx.AsyncClient) -> tuple[int, str]:
    """An adherent entity for this module's accounts, and its referent."""
    return await adherent(client)


async def test_account_notices_30_and_7_days_before_once_each(
    client: httpx.AsyncClient, services: Services, entity: tuple[int, str], outbox: Outbox
) -> None:
    _, email, _ = await member_until(client, entity[0], date.today() + timedelta(days=30))
    await run(services, lifecycle.expiry_notices, days(0))
    await run(services, lifecycle.expiry_notices, days(0))
    notices = await outbox(email, "account_expiry_notice")
    assert len(notices) == 1
    await run(services, lifecycle.expiry_notices, days(23))
    await run(services, lifecycle.expiry_notices, days(24))
    subjects = [m["subject"] for m in await outbox(email, "account_expiry_notice")]
    assert [s.split("dans ")[-1] for s in subjects] == ["7 jours", "30 jours"]  # newest first


async def test_expiry_is_applied_at_its_date_and_refuses_the_next_request(
    client: httpx.AsyncClient,
    services: Services,
    entity: tuple[int, str],
    outbox: Outbox,
    demo_items: list[dict[str, object]],
) -> None:
    account, email, key = await member_until(client, entity[0], date.today() + timedelta(days=1))
    item = next(i for i in demo_items if i["collection"] == "spot67")
    data = f"http://testserver/collections/spot67/items/{item['id']}/assets/data"
    assert (await client.get("/sign", params={"href": data}, headers={"X-API-Key": key})).is_success

    # Its last day: still active (other tests' accounts in the shared database may expire).
    await run(services, lifecycle.apply_expiries, days(1))
    assert (await client.get("/auth/me", headers={"X-API-Key": key})).status_code == 200
    assert await run(services, lifecycle.apply_expiries, days(2)) >= 1
    for path in ("/auth/me", "/sign"):
        refused = await client.get(path, params={"href": data}, headers={"X-API-Key": key})
        assert refused.status_code == 401 and "expiré" in refused.json()["description"], path
    signing_in = await client.post("/auth/token", data={"username": email, "password": PASSWORD})
    assert signing_in.status_code == 401
    assert await outbox(email, "account_expired")

    # The referent gives it a later date: a past one is refused and changes nothing.
    rd = await bearer(client, entity[1], PASSWORD)
    past = await client.put(
        f"/registry/accounts/{account}/expiry",
        json={"expires_on": (date.today() - timedelta(days=1)).isoformat()},
        headers=rd,
    )
    assert past.status_code == 400 and "futur" in past.json()["description"]
    listed = await client.get(f"/registry/entities/{entity[0]}/accounts", headers=rd)
    assert next(a for a in listed.json() if a["id"] == account)["status"] == "expired"
    later = await client.put(
        f"/registry/accounts/{account}/expiry",
        json={"expires_on": (date.today() + timedelta(days=90)).isoformat()},
        headers=rd,
    )
    assert later.status_code == 200 and later.json()["status"] == "active"
    assert (await client.get("/auth/me", headers={"X-API-Key": key})).status_code == 200


async def test_mission_notices_then_its_end(
    client: httpx.AsyncClient, services: Services, outbox: Outbox
) -> None:
    body = adhesion("private_rd")
    today = date.today()
    body["mission"] |= {
        "valid_from": today.isoformat(),
        "valid_to": (today + timedelta(days=7)).isoformat(),
    }
    referent = unique("rd")
    files = {"description": ("projet.pdf", pdf(), "application/pdf")}
    created = await submit(client, body, referent, files)
    assert created.status_code == 201, created.text
    assert (await rl_validate(client, body["legal_representative"]["email"])).status_code == 200
    assert (await accept(client, created.json()["id"])).status_code == 200

    await run(services, lifecycle.expiry_notices, days(0))
    await run(services, lifecycle.expiry_notices, days(1))
    notices = await outbox(referent, "mission_expiry_notice")
    assert len(notices) == 1 and "MaMission" in notices[0]["body"]
    await run(services, lifecycle.apply_expiries, days(7))
    assert not await outbox(referent, "mission_expired")  # its last day
    await run(services, lifecycle.apply_expiries, days(8))
    await run(services, lifecycle.apply_expiries, days(9))
    assert len(await outbox(referent, "mission_expired")) == 1


async def test_legal_representatives_are_reminded_each_week_until_they_validate(
    client: httpx.AsyncClient, services: Services, outbox: Outbox
) -> None:
    body = adhesion()
    rl = body["legal_representative"]["email"]
    assert (await submit(client, body, unique("referent"))).status_code == 201
    await run(services, lifecycle.remind_legal_representatives, days(6))
    assert not await outbox(rl, "legal_representative_link")
    await run(services, lifecycle.remind_legal_representatives, days(8))
    await run(services, lifecycle.remind_legal_representatives, days(9))
    reminders = await outbox(rl, "legal_representative_link")
    assert len(reminders) == 1 and "toujours attendue" in reminders[0]["body"]
    await run(services, lifecycle.remind_legal_representatives, days(16))
    assert len(await outbox(rl, "legal_representative_link")) == 2

    # The reminder's link works; once validated, no more reminders.
    token = await link(client, rl, "/portail/adhesion/validation")
    view = (await client.get(f"/registry/adhesions/validation/{token}")).json()
    codes = [lic["code"] for lic in view["licences"]]
    validated = await client.post(
        f"/registry/adhesions/validation/{token}", json={"accepted": codes}
    )
    assert validated.status_code == 200, validated.text
    await run(services, lifecycle.remind_legal_representatives, days(40))
    assert len(await outbox(rl, "legal_representative_link")) == 2


async def test_abandoned_drafts_and_dead_links_are_purged(
    client: httpx.AsyncClient, pages: httpx.AsyncClient, services: Services, database: str
) -> None:
    email = await start_adhesion(client, pages)  # a draft, after a verification link
    unverified = unique("jamais")
    sent = await client.post(
        "/registry/email-verifications", json={"email": unverified, "purpose": "adhesion"}
    )
    assert sent.status_code == 202

    def left() -> tuple[int, int]:
        with psycopg.connect(database) as conn:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM registry.drafts WHERE email = %(e)s), "
                "(SELECT count(*) FROM registry.link_tokens WHERE email IN (%(e)s, %(u)s))",
                {"e": email, "u": unverified},
            ).fetchone()
        assert row is not None
        return row[0], row[1]

    assert left() == (1, 2)
    await run(services, lifecycle.purge, days(1))  # not expired yet
    assert left() == (1, 2)
    assert await run(services, lifecycle.purge, days(4)) >= 3
    assert left() == (0, 0)
    expired = await pages.get("/portail/adhesion/entite")
    assert expired.status_code in (303, 400)


async def test_the_lifecycle_runs_every_hour_on_the_job_queue(services: Services) -> None:
    assert "registry:lifecycle" in services.jobs.tasks
    periodic = [task.task.name for task in services.jobs.periodic_registry.periodic_tasks.values()]
    assert "registry:lifecycle" in periodic
    done = await lifecycle.run(services, datetime.now(UTC))
    assert set(done) == {
        "expiry_notices",
        "apply_expiries",
        "remind_legal_representatives",
        "purge",
    }
