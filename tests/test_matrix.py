"""Every route of the app against every kind of caller: the expected status of each cell, and
no data href or signature in any answer to a caller who may not download the item.

The table has one row per route (`app.routes`, so that a new route without a row fails) and one
column per role. Routes that change something target objects this module creates (entities,
accounts, an adhesion, a project, a collection), never the demo's; in a row, the one role
expected to succeed runs after those expected to be refused.
"""

from __future__ import annotations

import copy
import re
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import morecantile
import orjson
import psycopg
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from pypgstac.load import Methods

from ingest.loader import load_items
from tests.conftest import ADMIN_TOKEN
from tests.registry import (
    INSTRUCTOR,
    PASSWORD,
    adhesion,
    bearer,
    entity_id,
    member,
    pdf,
    request_account,
    rl_validate,
    submit,
    unique,
)
from tests.test_access import MONTPELLIER, PARIS, clone

ROLES = (
    "anonymous",
    "no_licence",  # validated, entity accepted every licence, certified none
    "licensed",  # validated, certified every product licence
    "rd_outside",  # the private R&D user, asking about an item outside its mission
    "rd_inside",  # the same user, about an item inside its mission
    "other_referent",  # referent of another entity (SPOT 6/7 only)
    "instructor",
    "admin",  # the transactions' bearer token, which is no account
)
ACCOUNTS = {
    "no_licence": "john.doe@formation.example",
    "licensed": "bruce.wayne@formation.example",
    "rd_outside": "rd.user@prive.example",
    "rd_inside": "rd.user@prive.example",
    "other_referent": "sans.pleiades@autre.example",
    "instructor": INSTRUCTOR,
}
# Who may download the row's item (the Pléiades scene inside the R&D mission, or for
# rd_outside the same scene over Paris): what the leak check and the data rows follow.
MAY_DOWNLOAD = {
    "anonymous": False,
    "no_licence": False,
    "licensed": True,
    "rd_outside": False,
    "rd_inside": True,
    "other_referent": False,
    "instructor": True,
    "admin": False,
}

ITEM = "/collections/{collection_id}/items/{item_id}"
# Columns in the order of ROLES: anonymous, no_licence, licensed, rd_outside, rd_inside,
# other_referent, instructor, admin. Rows run in this order (the transactions' last).
# fmt: off
MATRIX = """
       route                                               anon nolc  lic rdou rdin othr inst  adm
GET    /                                                    200  200  200  200  200  200  200  200
GET    /_mgmt/health                                        200  200  200  200  200  200  200  200
GET    /_mgmt/ping                                          200  200  200  200  200  200  200  200
GET    /access/downloads                                    401  403  403  403  403  403  200  401
GET    /access/signatures                                   401  403  403  403  403  403  200  401
GET    /aggregate                                           200  200  200  200  200  200  200  200
POST   /aggregate                                           200  200  200  200  200  200  200  200
GET    /aggregations                                        200  200  200  200  200  200  200  200
POST   /aggregations                                        200  200  200  200  200  200  200  200
GET    /api                                                 200  200  200  200  200  200  200  200
GET    /api.html                                            200  200  200  200  200  200  200  200
GET    /assets/{path:path}                                  401  401  401  401  401  401  401  401
GET    /auth/api-keys                                       401  200  200  200  200  200  200  401
POST   /auth/api-keys                                       401  201  201  201  201  201  201  401
DELETE /auth/api-keys/{key_id}                              401  404  404  404  404  404  404  401
POST   /auth/certifications                                 401  400  400  400  400  400  400  401
GET    /auth/me                                             401  200  200  200  200  200  200  401
PUT    /auth/me/language                                    401  400  400  400  400  400  400  401
POST   /auth/password                                       401  400  400  400  400  400  400  401
POST   /auth/password-resets                                202  202  202  202  202  202  202  401
POST   /auth/password-resets/confirm                        400  400  400  400  400  400  400  401
POST   /auth/token                                          200  200  200  200  200  200  200  401
GET    /basemap/{z}/{x}/{y}                                 200  200  200  200  200  200  200  200
GET    /browser/                                            200  200  200  200  200  200  200  303
GET    /browser/config.js                                   200  200  200  200  200  200  200  303
GET    /catalogue                                           200  200  200  200  200  200  200  303
GET    /collections                                         200  200  200  200  200  200  200  200
GET    /collections/{collection_id}                         200  200  200  200  200  200  200  200
GET    /collections/{collection_id}/aggregate               200  200  200  200  200  200  200  200
POST   /collections/{collection_id}/aggregate               200  200  200  200  200  200  200  200
GET    /collections/{collection_id}/aggregations            200  200  200  200  200  200  200  200
POST   /collections/{collection_id}/aggregations            200  200  200  200  200  200  200  200
GET    /collections/{collection_id}/items                   200  200  200  200  200  200  200  401
GET    {item}                                               200  200  200  200  200  200  200  401
GET    {item}/assets/{asset_key}                            401  403  307  403  307  403  307  401
GET    {item}/info                                          401  403  200  403  200  403  200  401
GET    {item}/info.geojson                                  401  403  200  403  200  403  200  401
GET    {item}/point/{lon},{lat}                             401  403  200  403  200  403  200  401
GET    {item}/preview                                       401  403  200  403  200  403  200  401
GET    {item}/preview.{format}                              401  403  200  403  200  403  200  401
GET    {item}/preview/{width}x{height}.{format}             401  403  200  403  200  403  200  401
GET    {item}/statistics                                    401  403  200  403  200  403  200  401
POST   {item}/statistics                                    401  403  200  403  200  403  200  401
GET    {item}/tiles                                         401  403  200  403  200  403  200  401
GET    {item}/tiles/{tileMatrixSetId}                       401  403  200  403  200  403  200  401
GET    {item}/tiles/{tileMatrixSetId}/{z}/{x}/{y}           401  403  200  403  200  403  200  401
GET    {item}/tiles/{tileMatrixSetId}/{z}/{x}/{y}.{format}  401  403  200  403  200  403  200  401
GET    {item}/{tileMatrixSetId}/tilejson.json               401  403  200  403  200  403  200  401
GET    /collections/{collection_id}/queryables              200  200  200  200  200  200  200  200
GET    /commandes                                           303  200  200  200  200  200  200  303
GET    /commandes/archive                                   303  200  200  200  200  200  200  303
POST   /commandes/archive                                   303  403  403  403  403  403  403  303
GET    /commandes/demandes/{request_id}                     303  404  404  404  404  404  200  303
GET    /commandes/demandes/{request_id}/modifier            303  404  404  404  404  404  409  303
POST   /commandes/demandes/{request_id}/modifier            303  403  403  403  403  403  403  303
POST   /commandes/demandes/{request_id}/action/{action}     303  403  403  403  403  403  403  303
POST   /commandes/demandes/{request_id}/message             303  403  403  403  403  403  403  303
GET    /commandes/instruction                               303  403  403  403  403  403  200  303
GET    /commandes/instruction/{request_id}                  303  303  303  303  303  303  303  303
GET    /commandes/programmation                             303  200  200  200  200  200  200  303
POST   /commandes/programmation                             303  403  403  403  403  403  403  303
GET    /commandes/projets/nouveau                           303  200  200  200  200  200  200  303
POST   /commandes/projets/nouveau                           303  403  403  403  403  403  403  303
GET    /commandes/projets/{project_id}                      303  404  404  404  404  404  200  303
POST   /commandes/projets/{project_id}/cloture              303  403  403  403  403  403  403  303
GET    /compte                                              303  200  200  200  200  200  200  303
POST   /compte/cles                                         403  403  403  403  403  403  403  303
POST   /compte/cles/{key_id}/revoquer                       403  403  403  403  403  403  403  303
POST   /compte/langue                                       403  403  403  403  403  403  403  303
POST   /compte/licences                                     403  403  403  403  403  403  403  303
POST   /compte/mot-de-passe                                 403  403  403  403  403  403  403  303
GET    /conformance                                         200  200  200  200  200  200  200  200
GET    /connexion                                           200  200  200  200  200  200  200  303
POST   /connexion                                           403  403  403  403  403  403  403  303
GET    /connexion/nouveau-mot-de-passe/{token}              400  400  400  400  400  400  400  303
POST   /connexion/nouveau-mot-de-passe/{token}              403  403  403  403  403  403  403  303
GET    /connexion/oubli                                     200  200  200  200  200  200  200  303
POST   /connexion/oubli                                     403  403  403  403  403  403  403  303
POST   /coverage                                            200  200  200  200  200  200  200  200
POST   /deconnexion                                         403  403  403  403  403  403  403  303
GET    /favicon.ico                                         301  301  301  301  301  301  301  301
GET    /federation/oneatlas/image                           403  403  403  403  403  403  403  403
GET    /footprints/{z}/{x}/{y}                              200  200  200  200  200  200  200  200
POST   /geometries                                          200  200  200  200  200  200  200  200
GET    /healthz                                             200  200  200  200  200  200  200  200
GET    /metrics                                             403  403  403  403  403  403  403  403
GET    /readyz                                              200  200  200  200  200  200  200  200
GET    /ordering                                            200  200  200  200  200  200  200  200
POST   /ordering/aoi                                        401  200  200  200  200  200  200  401
GET    /ordering/conformance                                200  200  200  200  200  200  200  200
GET    /ordering/orders                                     401  200  200  200  200  200  200  401
GET    /ordering/orders/{order_id}                          401  404  404  404  404  404  200  401
POST   /ordering/orders/{order_id}/actions/{action}         401  404  404  404  404  404  200  401
GET    /ordering/orders/{order_id}/messages                 401  404  404  404  404  404  200  401
POST   /ordering/orders/{order_id}/messages                 401  404  404  404  404  404  201  401
GET    /ordering/orders/{order_id}/statuses                 401  404  404  404  404  404  200  401
GET    /ordering/products                                   200  200  200  200  200  200  200  200
GET    /ordering/products/{product_id}                      200  200  200  200  200  200  200  200
POST   /ordering/products/{product_id}/opportunities        401  400  400  400  400  400  400  401
GET    /ordering/products/{product_id}/estimate             401  400  400  400  400  400  400  401
GET    /ordering/products/{product_id}/order-parameters     200  200  200  200  200  200  200  200
POST   /ordering/products/{product_id}/orders               401  400  400  400  400  400  400  401
GET    /ordering/projects                                   401  200  200  200  200  200  200  401
POST   /ordering/projects                                   401  400  400  400  400  400  400  401
GET    /ordering/projects/{project_id}                      401  404  404  404  404  404  200  401
POST   /ordering/projects/{project_id}/close                401  404  404  404  404  404  409  401
GET    /ordering/quotas                                     401  200  200  200  200  200  200  401
PUT    /ordering/quotas                                     401  403  403  403  403  403  200  401
GET    /places                                              200  200  200  200  200  200  200  200
GET    /places/{place_id}                                   200  200  200  200  200  200  200  200
GET    /portail                                             200  200  200  200  200  200  200  303
POST   /portail/adhesion/soumettre                          403  403  403  403  403  403  403  303
GET    /portail/adhesion/validation/{token}                 400  400  400  400  400  400  400  303
POST   /portail/adhesion/validation/{token}                 403  403  403  403  403  403  403  303
GET    /portail/adhesion/{step}                             400  400  400  400  400  400  400  303
POST   /portail/adhesion/{step}                             403  403  403  403  403  403  403  303
GET    /portail/compte                                      400  400  400  400  400  400  400  303
POST   /portail/compte                                      403  403  403  403  403  403  403  303
GET    /portail/courriels                                   200  200  200  200  200  200  200  303
GET    /portail/modele-projet.pdf                           200  200  200  200  200  200  200  303
GET    /portail/verification                                200  200  200  200  200  200  200  303
POST   /portail/verification                                403  403  403  403  403  403  403  303
GET    /portail/verification/{token}                        400  400  400  400  400  400  400  303
POST   /portail/verification/{token}                        403  403  403  403  403  403  403  303
GET    /queryables                                          200  200  200  200  200  200  200  200
POST   /registre/comptes/{account_id}/{action}              403  403  403  403  403  403  403  303
GET    /registre/comptes                                    303  403  403  403  403  403  200  303
GET    /registre/courriels                                  303  403  403  403  403  403  200  303
GET    /registre/entite                                     303  403  403  200  200  200  200  303
POST   /registre/entite/{entity_id}/referent                303  403  403  403  403  403  403  303
POST   /registre/entite/{entity_id}/representant            403  403  403  403  403  403  403  303
GET    /registre/entites                                    303  403  403  403  403  403  200  303
GET    /registre/entites/{entity_id}/fusion                 400  400  400  400  400  400  400  303
POST   /registre/entites/{entity_id}/{action}               303  403  403  403  403  403  403  303
GET    /registre/instruction                                303  403  403  403  403  403  200  303
GET    /registre/instruction/{adhesion_id}                  303  403  403  403  403  403  200  303
POST   /registre/instruction/{adhesion_id}/{decision}       303  403  403  403  403  403  404  303
GET    /registre/journal                                    303  403  403  403  403  403  200  303
GET    /registre/relais                                     303  403  403  403  403  403  200  303
POST   /registre/relais/comptes                             403  403  403  403  403  403  403  303
GET    /registre/relais/designation/{entity_id}             303  403  403  403  403  403  200  303
POST   /registre/relais/designation/{entity_id}             303  403  403  403  403  403  403  303
GET    /registre/relais/export.csv                          303  403  403  403  403  403  200  303
GET    /registre/statistiques                               303  403  403  403  403  403  200  303
POST   /registre/partenariats/{partnership_id}/{decision}   404  404  404  404  404  404  404  303
POST   /registry/accounts                                   400  400  400  400  400  400  400  401
GET    /registry/accounts                                   401  403  403  403  403  403  200  401
PUT    /registry/accounts/{account_id}/expiry               401  403  403  403  403  403  200  401
POST   /registry/accounts/{account_id}/refuse               401  403  403  403  403  403  200  401
POST   /registry/accounts/{account_id}/validate             401  403  403  403  403  403  200  401
POST   /registry/accounts/{account_id}/{action}             401  403  403  403  403  403  200  401
GET    /registry/adhesions                                  401  403  403  403  403  403  200  401
POST   /registry/adhesions                                  400  400  400  400  400  400  400  401
GET    /registry/adhesions/validation/{token}               400  400  400  400  400  400  400  401
POST   /registry/adhesions/validation/{token}               400  400  400  400  400  400  400  401
POST   /registry/adhesions/{adhesion_id}/accept             401  403  403  403  403  403  200  401
GET    /registry/adhesions/{adhesion_id}/act                401  403  403  403  403  403  200  401
POST   /registry/adhesions/{adhesion_id}/reject             401  403  403  403  403  403  200  401
GET    /registry/audit                                      401  403  403  403  403  403  200  401
POST   /registry/email-verifications                        202  202  202  202  202  202  202  401
POST   /registry/email-verifications/confirm                400  400  400  400  400  400  400  401
GET    /registry/entities                                   200  200  200  200  200  200  200  401
GET    /registry/entities/{entity_id}/accounts              401  403  403  403  403  403  200  401
POST   /registry/entities/{entity_id}/accounts              401  403  403  403  403  403  201  401
PUT    /registry/entities/{entity_id}/legal-representative  401  403  403  403  403  403  200  401
GET    /registry/entities/{entity_id}/licences              401  403  403  403  403  403  200  401
POST   /registry/entities/{entity_id}/licences/{code}/{action}  401  403  403  403  403  403  200  401
POST   /registry/entities/{entity_id}/members               401  403  403  403  403  403  200  401
DELETE /registry/entities/{entity_id}/members/{member_id}  401  403  403  403  403  403  200  401
POST   /registry/entities/{entity_id}/merge                 401  403  403  403  403  403  200  401
POST   /registry/entities/{entity_id}/referent              401  403  403  403  403  403  200  401
PUT    /registry/entities/{entity_id}/relay                 401  403  403  403  403  403  200  401
POST   /registry/entities/{entity_id}/relay-convention      401  403  403  403  403  403  201  401
GET    /registry/entities/{entity_id}/relay-convention      401  403  403  403  403  403  200  401
POST   /registry/entities/{entity_id}/suspend               401  403  403  403  403  403  200  401
POST   /registry/entities/{entity_id}/reinstate             401  403  403  403  403  403  200  401
GET    /registry/licences                                   200  200  200  200  200  200  200  401
GET    /registry/licences/{code}                            200  200  200  200  200  200  200  401
GET    /registry/missions/{mission_id}/description          401  403  403  403  403  403  200  401
GET    /registry/outbox                                     401  403  403  403  403  403  200  401
GET    /registry/partnerships                               401  200  200  200  200  200  200  401
GET    /registry/relays/{entity_id}/activity                401  403  403  403  403  403  200  401
GET    /registry/statistics                                 401  403  403  403  403  403  200  401
POST   /registry/partnerships/{partnership_id}/{decision}   401  403  403  403  403  403  200  401
GET    /registry/vocabulary                                 200  200  200  200  200  200  200  200
GET    /search                                              200  200  200  200  200  200  200  401
POST   /search                                              200  200  200  200  200  200  200  401
GET    /sign                                                401  403  200  403  200  403  200  401
GET    /token/{collection_id}                               401  403  200  403  403  403  200  401
POST   /collections                                         401  403  403  403  403  403  403  201
PUT    /collections/{collection_id}                         401  403  403  403  403  403  403  200
PATCH  /collections/{collection_id}                         401  403  403  403  403  403  403  200
POST   /collections/{collection_id}/items                   401  403  403  403  403  403  403  201
PUT    {item}                                               401  403  403  403  403  403  403  200
PATCH  {item}                                               401  403  403  403  403  403  403  200
POST   /collections/{collection_id}/bulk_items              401  403  403  403  403  403  403  200
DELETE {item}                                               401  403  403  403  403  403  403  200
DELETE /collections/{collection_id}                         401  403  403  403  403  403  403  200
"""
# fmt: on

# Cells where the app is wrong today: the table says what is right; each is reported.
KNOWN_DEFECTS: dict[tuple[str, str], str] = {}


def parse(table: str) -> dict[str, dict[str, int]]:
    rows: dict[str, dict[str, int]] = {}
    for line in table.strip().splitlines()[1:]:
        method, path, *cells = line.split()
        route = f"{method} {path.replace('{item}', ITEM)}"
        rows[route] = dict(zip(ROLES, map(int, cells), strict=True))
    return rows


EXPECTED = parse(MATRIX)


def app_routes(app: FastAPI) -> set[str]:
    """`METHOD path` of every route the app serves, included routers' too (HEAD aside)."""
    found = set()
    for route in iter_route_contexts(app.routes):
        for method in route.methods or ():
            if method != "HEAD":
                found.add(f"{method} {route.path}")
    return found


# -- the world the rows act on -------------------------------------------------------------------

TX_COLLECTION = "matrix-transactions"
IN_RASTER = (3.83, 43.63)  # inside the placed footprint and the demo raster it points to


@dataclass
class World:
    """What the rows' requests name: items, credentials and objects owned by this module."""

    inside: dict[str, Any]
    outside: dict[str, Any]
    headers: dict[str, dict[str, str]]
    collection: dict[str, Any]
    ids: dict[str, Any] = field(default_factory=dict)

    def item(self, role: str) -> dict[str, Any]:
        return self.outside if role == "rd_outside" else self.inside


async def accepted_entity(client: httpx.AsyncClient, acronym: str, **parts: Any) -> int:
    """A new entity, validated by its RL and accepted by an instructor."""
    await awaiting_entity(client, acronym, **parts)
    adhesion_id = await adhesion_of(client, acronym)
    accepted = await client.post(
        f"/registry/adhesions/{adhesion_id}/accept", headers=await bearer(client, INSTRUCTOR)
    )
    assert accepted.status_code == 200, accepted.text
    return await entity_id(client, acronym)


async def awaiting_entity(
    client: httpx.AsyncClient, acronym: str, category: str = "local_authority", **parts: Any
) -> str:
    """A new entity awaiting instruction; returns its future referent's e-mail."""
    rl, referent = unique("rl"), unique("referent")
    body = adhesion(category, rl_email=rl, **parts)
    body["entity"] = {**body["entity"], "acronym": acronym, "name": f"Matrice {acronym}"}
    files = {"description": ("projet.pdf", pdf(), "application/pdf")} if "mission" in body else None
    submitted = await submit(client, body, referent, files=files)
    assert submitted.status_code == 201, submitted.text
    validated = await rl_validate(client, rl)
    assert validated.status_code == 200, validated.text
    return referent


async def adhesion_of(client: httpx.AsyncClient, acronym: str) -> int:
    return int((await adhesion_record(client, acronym))["id"])


async def adhesion_record(client: httpx.AsyncClient, acronym: str) -> dict[str, Any]:
    listed = await client.get("/registry/adhesions", headers=await bearer(client, INSTRUCTOR))
    return next(a for a in listed.json() if a["entity"]["acronym"] == acronym)


@pytest.fixture(scope="module")
async def world(
    client: httpx.AsyncClient, database: str, demo_items: list[dict[str, Any]]
) -> AsyncIterator[World]:
    inside = clone(demo_items, "pleiades", "PHR-MTP", "2021-07-14T10:31:07Z", MONTPELLIER, "MATRIX")
    outside = clone(demo_items, "pleiades", "PHR-PARIS", "2021-07-14T10:31:08Z", PARIS, "MATRIX")
    load_items(database, [inside, outside], mode=Methods.upsert)
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    headers["admin"] = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    for role, email in ACCOUNTS.items():
        headers[role] = await bearer(client, email)
    collection = (await client.get("/collections/pleiades")).json()
    world = World(inside, outside, headers, collection)
    tag = secrets.token_hex(2).upper()
    ids = world.ids
    # Entities: one merged into another, one grouped, made relay, handed over.
    ids["merged"] = await accepted_entity(client, f"MXA{tag}")
    ids["kept"] = await accepted_entity(client, f"MXB{tag}")
    ids["entity"] = await accepted_entity(client, f"MXC{tag}")
    ids["member_entity"] = await accepted_entity(client, f"MXG{tag}")
    ids["relay"] = await accepted_entity(client, f"MXP{tag}")
    designation = convention(world, "instructor")
    designated = await client.post(
        f"/registry/entities/{ids['relay']}/relay-convention",
        data=designation["data"],
        files=designation["files"],
        headers=headers["instructor"],
    )
    assert designated.status_code == 201, designated.text
    ids["act"] = await adhesion_of(client, f"MXA{tag}")
    partner = await entity_id(client, "Formation_6_11")
    rd = adhesion("private_rd", partner={"public_entity_id": partner})
    # A private R&D entity waiting for its partner (Formation_6_11) to validate the partnership.
    await awaiting_entity(client, f"MXR{tag}", "private_rd", partner=rd["partner"])
    ids["rd_entity"] = (await adhesion_record(client, f"MXR{tag}"))["entity"]["id"]
    await awaiting_entity(client, f"MXD{tag}")
    await awaiting_entity(client, f"MXE{tag}")
    ids["to_accept"] = await adhesion_of(client, f"MXD{tag}")
    ids["to_reject"] = await adhesion_of(client, f"MXE{tag}")
    instructor = headers["instructor"]
    partnerships = (await client.get("/registry/partnerships", headers=instructor)).json()
    ids["partnership"] = next(
        p["id"] for p in partnerships if p["private_entity"]["id"] == ids["rd_entity"]
    )
    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT id FROM registry.missions WHERE entity_id = %s", [ids["rd_entity"]]
        ).fetchone()
        assert row is not None
        ids["mission"] = row[0]
    # Accounts of Formation_6_11 that no role administers but the instructor.
    formation = await entity_id(client, "Formation_6_11")
    for name in ("to_validate", "to_refuse"):
        pending = await request_account(client, unique(name), formation)
        assert pending.status_code == 201, pending.text
        ids[name] = pending.json()["id"]
    ids["to_deactivate"], _, _ = await member(client, "Formation_6_11", ["spot67"])
    ids["to_expire"], _, key = await member(client, "Formation_6_11", ["spot67"])
    ids["successor"], _, _ = await member(client, f"MXC{tag}", [])
    owner_headers = {"X-API-Key": key}
    keys = (await client.get("/auth/api-keys", headers=owner_headers)).json()
    ids["key"] = keys[0]["id"]
    # A project and a tasking request of that member.
    end = (datetime.now(UTC).date() + timedelta(days=300)).isoformat()
    project = await client.post(
        "/ordering/projects",
        json={
            "title": "Matrice",
            "kind": "SCI",
            "themes": ["Littoral"],
            "end_date": end,
            "description": "Projet de la matrice des droits.",
            "objectives": "Vérifier les droits.",
        },
        headers=owner_headers,
    )
    assert project.status_code == 201, project.text
    ids["project"] = project.json()["id"]
    start = datetime.now(UTC) + timedelta(days=3)
    order = await client.post(
        "/ordering/products/airbus-tasking-spot/orders",
        json={
            "bbox": [3.8, 43.55, 3.95, 43.65],
            "datetime": f"{start.isoformat()}/{(start + timedelta(days=30)).isoformat()}",
            "order_parameters": {"project_id": ids["project"]},
        },
        headers=owner_headers,
    )
    assert order.status_code == 201, order.text
    ids["order"] = order.json()["id"]
    ids["tag"] = tag
    yield world
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("DELETE FROM pgstac.items WHERE id LIKE 'MATRIX-%'")
    await client.delete(f"/collections/{TX_COLLECTION}", headers=headers["admin"])


# -- the request of each row ---------------------------------------------------------------------

Build = Callable[[World, str], dict[str, Any]]


def path_values(world: World, role: str) -> dict[str, Any]:
    item = world.item(role)
    lon, lat = IN_RASTER
    tile = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, 14)
    ids = world.ids
    return {
        "collection_id": "pleiades",
        "item_id": item["id"],
        "asset_key": "data",
        "path": item["assets"]["data"]["href"],
        "tileMatrixSetId": "WebMercatorQuad",
        "z": tile.z,
        "x": tile.x,
        "y": tile.y,
        "format": "png",
        "lon": lon,
        "lat": lat,
        "width": 64,
        "height": 64,
        "place_id": "commune:34172",
        "key_id": ids["key"],
        "token": "not-a-valid-token",
        "adhesion_id": ids["act"],
        "mission_id": ids["mission"],
        "partnership_id": ids["partnership"],
        "decision": "validate",
        "account_id": ids["to_deactivate"],
        "action": "deactivate",
        "entity_id": ids["entity"],
        "step": "entite",
        "product_id": "airbus-tasking-spot",
        "order_id": ids["order"],
        "project_id": ids["project"],
        "request_id": ids["order"],
    }


RASTER = {"params": {"bidx": [1, 2, 3], "rescale": "0,3000", "max_size": 64}}
GEOJSON = orjson.dumps({"type": "Feature", "geometry": MONTPELLIER, "properties": {}})


def transaction_item(world: World, role: str) -> dict[str, Any]:
    item = copy.deepcopy(world.inside)
    item.update(id="MATRIX-TX", collection=TX_COLLECTION)
    return {"json": item}


def transaction_collection(world: World, role: str) -> dict[str, Any]:
    return {"json": {**world.collection, "id": TX_COLLECTION, "title": "Matrice", "links": []}}


def only_the_item(world: World, role: str) -> dict[str, Any]:
    item = world.item(role)
    return {"params": {"ids": item["id"], "datetime": item["properties"]["datetime"]}}


def search_the_item(world: World, role: str) -> dict[str, Any]:
    return {"json": {"ids": [world.item(role)["id"]]}}


def quota(world: World, role: str) -> dict[str, Any]:
    year = datetime.now(UTC).year
    return {
        "json": {
            "entity_id": world.ids["member_entity"],
            "family": "SPOT",
            "year": year,
            "allowed_km2": 10,
        }
    }


def relay_partner(world: World, role: str) -> dict[str, Any]:
    return {"path": {"entity_id": world.ids["relay"]}}


def convention(world: World, role: str) -> dict[str, Any]:
    """The designation of the relay partner (as the world makes it, then as the row does)."""
    return {
        "path": {"entity_id": world.ids["relay"]},
        "data": {"title": "Convention de la matrice", "signed_on": "2025-03-01"},
        "files": {"document": ("convention.pdf", pdf(), "application/pdf")},
    }


def legal_representative(world: World, role: str) -> dict[str, Any]:
    email = unique("rl")
    return {
        "json": {
            "first_name": "Louise",
            "last_name": "Michel",
            "function": "Maire",
            "email": email,
            "email_confirmation": email,
            "nationality": "France",
        }
    }


REQUESTS: dict[str, Build] = {
    "GET /search": only_the_item,
    "POST /search": search_the_item,
    "GET /collections/{collection_id}/items": only_the_item,
    "GET /aggregate": lambda w, r: {"params": {"aggregations": "total_count"}},
    "POST /aggregate": lambda w, r: {"json": {"aggregations": ["total_count"]}},
    "GET /collections/{collection_id}/aggregate": lambda w, r: {
        "params": {"aggregations": "total_count"}
    },
    "POST /collections/{collection_id}/aggregate": lambda w, r: {
        "json": {"aggregations": ["total_count"]}
    },
    "POST /collections": transaction_collection,
    "PUT /collections/{collection_id}": transaction_collection,
    "PATCH /collections/{collection_id}": lambda w, r: {"json": {"title": "Matrice"}},
    "DELETE /collections/{collection_id}": lambda w, r: {},
    "POST /collections/{collection_id}/items": transaction_item,
    "PUT /collections/{collection_id}/items/{item_id}": transaction_item,
    "PATCH /collections/{collection_id}/items/{item_id}": lambda w, r: {
        "json": {"properties": {"title": "Matrice"}}
    },
    "POST /collections/{collection_id}/bulk_items": lambda w, r: {
        "json": {"items": {"MATRIX-TX-2": transaction_item(w, r)["json"] | {"id": "MATRIX-TX-2"}}}
    },
    "GET /sign": lambda w, r: {
        "params": {
            "href": f"http://testserver/collections/pleiades/items/{w.item(r)['id']}/assets/data"
        }
    },
    "GET /collections/{collection_id}/items/{item_id}/statistics": RASTER,  # type: ignore[dict-item]
    "POST /collections/{collection_id}/items/{item_id}/statistics": lambda w, r: {
        "params": {"max_size": 64},
        "json": {"type": "Feature", "geometry": w.item(r)["geometry"], "properties": {}},
    },
    "GET /footprints/{z}/{x}/{y}": lambda w, r: {},
    "GET /registry/licences/{code}": lambda w, r: {"path": {"code": "pwh"}},
    "POST /coverage": lambda w, r: {"json": {"intersects": MONTPELLIER}},
    "GET /places": lambda w, r: {"params": {"q": "Montpellier"}},
    "POST /geometries": lambda w, r: {"files": {"file": ("zone.geojson", GEOJSON)}},
    "GET /federation/oneatlas/image": lambda w, r: {"params": {"href": "x", "sig": "y"}},
    "POST /auth/token": lambda w, r: {
        "data": {"username": "bruce.wayne@formation.example", "password": "Toto@34090"}
    },
    "POST /auth/api-keys": lambda w, r: {"json": {"name": "matrice"}},
    "POST /auth/password": lambda w, r: {
        "json": {
            "current_password": "pas-le-bon",
            "password": PASSWORD,
            "password_confirmation": PASSWORD,
        }
    },
    "POST /auth/password-resets": lambda w, r: {"json": {"email": unique("nobody")}},
    "POST /auth/password-resets/confirm": lambda w, r: {
        "json": {"token": "x", "password": PASSWORD, "password_confirmation": PASSWORD}
    },
    "POST /auth/certifications": lambda w, r: {"json": {"licences": ["inconnue"]}},
    "POST /registry/email-verifications": lambda w, r: {
        "json": {"email": unique("verify"), "purpose": "adhesion"}
    },
    "POST /registry/email-verifications/confirm": lambda w, r: {"json": {"token": "x"}},
    "POST /registry/adhesions": lambda w, r: {
        "data": {"ticket": "x", "adhesion": orjson.dumps(adhesion()).decode()}
    },
    "POST /registry/adhesions/validation/{token}": lambda w, r: {"json": {"accepted": []}},
    "POST /registry/adhesions/{adhesion_id}/accept": lambda w, r: {
        "path": {"adhesion_id": w.ids["to_accept"]}
    },
    "POST /registry/adhesions/{adhesion_id}/reject": lambda w, r: {
        "path": {"adhesion_id": w.ids["to_reject"]},
        "json": {"reason": "Hors du périmètre de DINAMIS."},
    },
    "POST /registry/accounts": lambda w, r: {"json": {"ticket": "x", "entity_id": 1}},
    "POST /registry/accounts/{account_id}/validate": lambda w, r: {
        "path": {"account_id": w.ids["to_validate"]},
        "json": {},
    },
    "POST /registry/accounts/{account_id}/refuse": lambda w, r: {
        "path": {"account_id": w.ids["to_refuse"]},
        "json": {},
    },
    "PUT /registry/accounts/{account_id}/expiry": lambda w, r: {
        "path": {"account_id": w.ids["to_expire"]},
        "json": {"expires_on": (datetime.now(UTC).date() + timedelta(days=30)).isoformat()},
    },
    "POST /registry/entities/{entity_id}/referent": lambda w, r: {
        "json": {"account_id": w.ids["successor"]}
    },
    "PUT /registry/entities/{entity_id}/legal-representative": legal_representative,
    "POST /registry/entities/{entity_id}/merge": lambda w, r: {
        "path": {"entity_id": w.ids["merged"]},
        "json": {"into": w.ids["kept"]},
    },
    "POST /registry/entities/{entity_id}/members": lambda w, r: {
        "json": {"member_ids": [w.ids["member_entity"]]}
    },
    "PUT /registry/entities/{entity_id}/relay": lambda w, r: {
        "path": {"entity_id": w.ids["relay"]},  # reinstated under its convention on file
        "json": {"relay": True},
    },
    "POST /registry/entities/{entity_id}/relay-convention": convention,
    "GET /registry/entities/{entity_id}/relay-convention": relay_partner,
    "POST /registry/entities/{entity_id}/accounts": lambda w, r: {
        "json": {
            "email": unique("relais"),
            "first_name": "Rémi",
            "last_name": "Relais",
            "function": "Chargé SIG",
            "phone": "0556000000",
            "nationality": "France",
        }
    },
    "GET /registry/relays/{entity_id}/activity": relay_partner,
    "GET /registre/relais": lambda w, r: {"params": {"id": w.ids["relay"]}},
    "GET /registre/relais/export.csv": lambda w, r: {"params": {"id": w.ids["relay"]}},
    "GET /registre/relais/designation/{entity_id}": relay_partner,
    "POST /registre/relais/designation/{entity_id}": relay_partner,
    "GET /registry/entities/{entity_id}/licences": lambda w, r: {
        "path": {"entity_id": w.ids["kept"]}
    },
    "POST /registry/entities/{entity_id}/licences/{code}/{action}": lambda w, r: {
        "path": {"entity_id": w.ids["kept"], "code": "pwh", "action": "suspend"},
        "json": {},
    },
    "DELETE /registry/entities/{entity_id}/members/{member_id}": lambda w, r: {
        "path": {"member_id": w.ids["member_entity"]}
    },
    "POST /registry/entities/{entity_id}/suspend": lambda w, r: {
        "path": {"entity_id": w.ids["kept"]},
        "json": {"reason": "Matrice"},
    },
    "POST /registry/entities/{entity_id}/reinstate": lambda w, r: {
        "path": {"entity_id": w.ids["kept"]}
    },
    "POST /ordering/products/{product_id}/opportunities": lambda w, r: {"json": {}},
    "POST /ordering/products/{product_id}/orders": lambda w, r: {"json": {}},
    "POST /ordering/orders/{order_id}/actions/{action}": lambda w, r: {
        "path": {"action": "accept"}
    },
    "POST /ordering/orders/{order_id}/messages": lambda w, r: {"json": {"body": "Bonjour"}},
    "POST /ordering/projects": lambda w, r: {"json": {}},
    "PUT /ordering/quotas": quota,
    "POST /ordering/aoi": lambda w, r: {"files": {"file": ("zone.geojson", GEOJSON)}},
}
for _route in (
    "GET /collections/{collection_id}/items/{item_id}/tiles/{tileMatrixSetId}/{z}/{x}/{y}.{format}",
    "GET /collections/{collection_id}/items/{item_id}/tiles/{tileMatrixSetId}/{z}/{x}/{y}",
    "GET /collections/{collection_id}/items/{item_id}/{tileMatrixSetId}/tilejson.json",
    "GET /collections/{collection_id}/items/{item_id}/preview/{width}x{height}.{format}",
    "GET /collections/{collection_id}/items/{item_id}/preview.{format}",
    "GET /collections/{collection_id}/items/{item_id}/preview",
    "GET /collections/{collection_id}/items/{item_id}/point/{lon},{lat}",
):
    REQUESTS[_route] = lambda w, r: copy.deepcopy(RASTER)
# In the order their rows run: the collection is created, filled, changed and removed.
TRANSACTIONS = (
    "POST /collections",
    "PUT /collections/{collection_id}",
    "PATCH /collections/{collection_id}",
    "POST /collections/{collection_id}/items",
    "PUT /collections/{collection_id}/items/{item_id}",
    "PATCH /collections/{collection_id}/items/{item_id}",
    "POST /collections/{collection_id}/bulk_items",
    "DELETE /collections/{collection_id}/items/{item_id}",
    "DELETE /collections/{collection_id}",
)


def request_of(route: str, world: World, role: str) -> tuple[str, str, dict[str, Any]]:
    method, template = route.split(maxsplit=1)
    build = REQUESTS.get(route)
    options = build(world, role) if callable(build) else copy.deepcopy(build or {})
    values = {**path_values(world, role), **options.pop("path", {})}
    if route in TRANSACTIONS:
        values.update(collection_id=TX_COLLECTION, item_id="MATRIX-TX")
    path = re.sub(r"{(\w+)(:path)?}", lambda m: str(values[m.group(1)]), template)
    return method, path, options


# -- what no caller who may not download should see ----------------------------------------------


def leaks(text: str, world: World, role: str) -> list[str]:
    """What in an answer reveals or grants the data of the row's item."""
    assets = world.item(role)["assets"]
    storage = assets["data"]["href"]
    public = {assets[k]["href"] for k in ("thumbnail", "overview")}
    found = [f"storage path {storage}"] if storage in text else []
    for url in re.findall(r"[^\"'\s<>]*[?&](?:sig|token)=[\w.~-]{8,}", text):
        if urlsplit(url).path.split("/assets/", 1)[-1] not in public:
            found.append(f"signed URL {url}")
    return found


# -- the tests -----------------------------------------------------------------------------------


def test_every_route_has_a_row(app: FastAPI) -> None:
    """A new route must be given its row (and its request, when it needs more than its path)."""
    served = app_routes(app)
    assert sorted(served - set(EXPECTED)) == [], "routes without a row in MATRIX"
    assert sorted(set(EXPECTED) - served) == [], "rows of MATRIX for routes that do not exist"
    assert set(REQUESTS) <= served


ORDER = sorted(ROLES, key=lambda role: role in ("instructor", "admin"))


@pytest.fixture(scope="module")
async def caller(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that sees an unhandled error as the 500 a real client gets."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.mark.parametrize("route", list(EXPECTED) or ["none"])
async def test_route_answers_each_role(caller: httpx.AsyncClient, world: World, route: str) -> None:
    """Each role gets the status of its cell; a role that may not download sees no data href."""
    wrong, still_wrong = [], []
    for role in ORDER:
        method, path, options = request_of(route, world, role)
        response = await caller.request(method, path, headers=world.headers[role], **options)
        expected = EXPECTED[route][role]
        problems = []
        if response.status_code != expected:
            problems.append(f"{response.status_code} instead of {expected}: {response.text[:300]}")
        own_write = role == "admin" and route in TRANSACTIONS  # its item, echoed back
        textual = response.headers.get("content-type", "").startswith(("application/", "text/"))
        if not MAY_DOWNLOAD[role] and textual and not own_write:
            problems += leaks(response.text, world, role)
        if (route, role) in KNOWN_DEFECTS:
            still_wrong.append((role, problems))
        elif problems:
            wrong.append(f"{role}: {'; '.join(problems)}")
    assert not wrong, f"{route}\n" + "\n".join(wrong)
    fixed = [role for role, problems in still_wrong if not problems]
    assert not fixed, f"{route}: fixed for {fixed}, remove from KNOWN_DEFECTS"
    if still_wrong:
        roles = [role for role, _ in still_wrong]
        reasons = sorted({KNOWN_DEFECTS[route, role] for role in roles})
        pytest.xfail(f"{', '.join(roles)}: {'; '.join(reasons)}")
