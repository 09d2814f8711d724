"""Statistics (issue 16, 3): instructors see the platform's numbers, the demo's relay partner
(PIGMA) its two partner entities'; the page and `GET /registry/statistics` give the same
numbers; bad filters are refused with their reason."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date
from typing import Any

import httpx
import psycopg
import pytest
from babel.dates import format_date

from tests.registry import DEMO_PASSWORD, INSTRUCTOR, bearer, entity_id
from tests.test_registry_admin import sign_in

ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}

RELAY = "relais@pigma.example"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
async def quota(client: httpx.AsyncClient, database: str) -> int:
    """A SPOT and a Pléiades quota of the relay's partner Mérignac for this year (the latter
    with thousands and a decimal, for the pages' number formats); its other partner, the
    Landes park, has none: the ordering desk would give it the default free quota."""
    merignac = await entity_id(client, "MERIGNAC")
    year = date.today().year
    with psycopg.connect(database) as conn:
        conn.execute(
            "INSERT INTO ordering.quotas (entity_id, entity_name, family, period_start, "
            "period_end, allowed_km2, reserved_km2, used_km2) VALUES "
            "(%(id)s, 'Commune de Mérignac', 'SPOT', %(start)s, %(end)s, 500, 0, 420), "
            "(%(id)s, 'Commune de Mérignac', 'PLEIADES', %(start)s, %(end)s, 1234.5, 0, 0) "
            "ON CONFLICT DO NOTHING",
            {"id": merignac, "start": date(year, 1, 1), "end": date(year, 12, 31)},
        )
    return merignac


def counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {r["key"]: r["count"] for r in rows}


def partner_accounts(database: str) -> dict[str, int]:
    """The accounts of PIGMA's partner entities by status, counted here."""
    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT a.status, count(*) FROM registry.accounts a "
            "JOIN registry.entities e ON e.id = a.entity_id "
            "JOIN registry.entities r ON r.id = e.relay_id WHERE r.acronym = 'PIGMA' GROUP BY 1"
        ).fetchall()
    return dict(rows)


async def test_instructors_see_the_platform_and_a_relay_its_partners(
    client: httpx.AsyncClient, quota: int, database: str
) -> None:
    everything = await client.get("/registry/statistics", headers=await bearer(client, INSTRUCTOR))
    assert everything.status_code == 200, everything.text
    platform = everything.json()
    assert platform["scope"] == "all"
    assert counts(platform["entities_by_category"])["local_authority"] >= 3
    assert counts(platform["accounts_by_status"])["active"] >= 8

    relayed = await client.get("/registry/statistics", headers=await bearer(client, RELAY))
    assert relayed.status_code == 200, relayed.text
    pigma = relayed.json()
    assert pigma["scope"] == "GIP ATGeRi - Plateforme PIGMA"
    # Its two partners: a commune and a regional park; their accounts, not the relay's own.
    assert counts(pigma["entities_by_category"]) == {"local_authority": 1, "public_other": 1}
    assert counts(pigma["accounts_by_status"]) == partner_accounts(database)
    assert counts(pigma["accounts_by_status"])["pending"] >= 1
    months = {a["month"] for a in pigma["activity"]}
    assert len(months) == 6 and {a["collection"] for a in pigma["activity"]} <= {
        "spot67",
        "pleiades",
    }
    assert sum(a["signatures"] for a in pigma["activity"]) > sum(
        a["downloads"] for a in pigma["activity"]
    )
    assert pigma["requests"] == [
        {
            "status": "received",
            "status_label": "Reçue",
            "sensor": "SPOT",
            "sensor_label": "SPOT 6/7",
            "count": 2,
            "area_km2": 263.0,
        }
    ]
    # Mérignac's 500 km² and the park's 10 000, the desk's default for an entity with none.
    spot = next(q for q in pigma["quotas"] if q["sensor"] == "SPOT")
    assert spot["allowed_km2"] == 10_500 and spot["used_km2"] == 420
    assert spot["ordered_km2"] == 263
    park = await client.get(
        "/registry/statistics",
        params={"entity_id": await entity_id(client, "PNRLG")},
        headers=await bearer(client, RELAY),
    )
    (park_spot,) = park.json()["quotas"]
    assert park_spot["allowed_km2"] == 10_000 and park_spot["ordered_km2"] == 131.5

    # One partner, one month: only its numbers.
    month = sorted(months)[-1]
    narrowed = await client.get(
        "/registry/statistics",
        params={"entity_id": quota, "since": month, "until": month},
        headers=await bearer(client, RELAY),
    )
    assert {a["month"] for a in narrowed.json()["activity"]} == {month}
    assert counts(narrowed.json()["entities_by_category"]) == {"local_authority": 1}


async def test_the_page_draws_the_same_numbers(
    pages: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    form = await pages.get("/connexion")
    token = CSRF.search(form.text)
    assert token
    await pages.post(
        "/connexion",
        data={"csrf_token": token.group(1), "email": RELAY, "password": "Toto@34090"},
    )
    page = await pages.get("/registre/statistiques")
    assert page.status_code == 200
    numbers = (await pages.get("/registry/statistics")).json()
    assert "Plateforme PIGMA" in page.text
    assert page.text.count('<svg role="img"') >= 4  # charts drawn here, no script, no CDN
    assert "<script" not in page.text.split("<main", 1)[-1]
    for row in numbers["activity"]:
        assert f'<td data-label="Signatures">{row["signatures"]}</td>' in page.text
    bad = await pages.get("/registre/statistiques", params={"depuis": "2026-13"})
    assert bad.status_code == 400 and "AAAA-MM" in bad.text


async def test_codes_and_numbers_are_said_in_the_readers_language(
    client: httpx.AsyncClient, pages: httpx.AsyncClient, quota: int
) -> None:
    """The JSON keeps each code and adds its label in the reader's language; the page shows
    the label, and numbers as the reader writes them (no ".0" on a whole number)."""
    relay = await bearer(client, RELAY)
    english = await client.get("/registry/statistics", headers={**relay, **ENGLISH})
    assert english.status_code == 200, english.text
    (received,) = english.json()["requests"]
    assert received["status"] == "received" and received["status_label"] == "Received"
    quotas = {q["sensor"]: q for q in english.json()["quotas"]}
    assert quotas["PLEIADES"]["sensor_label"] == "Pléiades"
    accounts = {c["key"]: c["label"] for c in english.json()["accounts_by_status"]}
    assert accounts["pending"] == "Waiting for validation"
    categories = {c["key"]: c["label"] for c in english.json()["entities_by_category"]}
    assert categories["local_authority"] == "Local authorities"
    pigma = await entity_id(client, "PIGMA")
    view = await client.get(f"/registry/relays/{pigma}/activity", headers={**relay, **ENGLISH})
    assert {r["status_label"] for r in view.json()["requests"]} == {"Received"}

    await sign_in(pages, RELAY, DEMO_PASSWORD)
    french = html.unescape((await pages.get("/registre/statistiques")).text)
    assert '<td data-label="Statut">Reçue</td>' in french
    assert '<td data-label="Capteur">SPOT 6/7</td>' in french
    assert '<td data-label="Surface (km²)">263</td>' in french
    assert "1\u202f234,5\u00a0km²" in french and "263.0" not in french
    assert ">received<" not in french and "SPOT 6/7 — 4\u00a0% du quota gratuit consommé" in french
    months = {a["month"] for a in english.json()["activity"]}
    for month in months:  # in the reader's words: « juil. 2026 », "Jul 2026"
        assert format_date(date.fromisoformat(f"{month}-01"), "MMM y", locale="fr") in french
    activity = html.unescape((await pages.get("/registre/relais")).text)
    assert "Reçue</span>" in activity and ">received<" not in activity
    exported = await pages.get("/registre/relais/export.csv", params={"partie": "demandes"})
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert {(r["status"], r["status_label"], r["sensor_label"]) for r in rows} == {
        ("received", "Reçue", "SPOT 6/7")
    }
    # The cookie, not `?lang=`: the demo relay's stored language stays French for the others.
    pages.cookies.set("dinamis_lang", "en")
    english_page = html.unescape((await pages.get("/registre/statistiques")).text)
    assert '<td data-label="Status">Received</td>' in english_page
    assert (
        "1,234.5\u00a0km²" in english_page
        and "SPOT 6/7 — 4% of the free quota used" in english_page
    )


async def test_bad_filters_and_callers_are_refused(client: httpx.AsyncClient) -> None:
    relay = await bearer(client, RELAY)
    backwards = await client.get(
        "/registry/statistics", params={"since": "2026-05", "until": "2026-01"}, headers=relay
    )
    assert backwards.status_code == 400 and "until" in backwards.json()["fields"]
    month = await client.get("/registry/statistics", params={"since": "mai"}, headers=relay)
    assert month.status_code == 400 and "since" in month.json()["fields"]
    formation = await entity_id(client, "Formation_6_11")
    other = await client.get("/registry/statistics", params={"entity_id": formation}, headers=relay)
    assert other.status_code == 403
    user = await bearer(client, "bruce.wayne@formation.example")
    assert (await client.get("/registry/statistics", headers=user)).status_code == 403
    assert (await client.get("/registry/statistics")).status_code == 401
