"""Transactions exist, and only the admin credential can use them."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from stac_api.app import transaction_scopes
from tests.conftest import ADMIN_TOKEN, make_app

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
COLLECTION_ID = "test-transactions"
# POSTs under /collections that read: aggregations, and statistics of a GeoJSON area.
READING_POSTS = ("/aggregate", "/aggregations", "/statistics")


@pytest.mark.parametrize("prefix", ["", "/stac"])
def test_every_write_route_needs_the_admin(database: str, storage_root: Path, prefix: str) -> None:
    """A new write route added by a future extension must not slip past the admin check,
    with or without a path prefix."""
    app = make_app(database, storage_root, prefix_path=prefix)
    guarded = {(s["path"], s["method"]) for s in transaction_scopes(prefix)}
    writes = set()
    for context in iter_route_contexts(app.routes):  # through FastAPI's included routers
        route = context.original_route
        path = context.path
        if not isinstance(route, APIRoute) or not path.startswith(f"{prefix}/collections"):
            continue
        for method in route.methods - {"GET", "HEAD", "OPTIONS"}:
            if path.endswith(READING_POSTS):
                continue
            writes.add((path, method))
            names = {d.call.__name__ for d in route.dependant.dependencies if d.call}
            assert "require_admin" in names, f"{method} {path} is not guarded"
    assert writes == guarded


async def test_writes_under_a_path_prefix_need_the_admin(
    database: str, storage_root: Path, demo_items: list[dict[str, Any]]
) -> None:
    """With DINAMIS_API_PREFIX_PATH set, an anonymous PUT or DELETE changes nothing."""
    app = make_app(database, storage_root, prefix_path="/stac")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        spot67 = (await http.get("/stac/collections/spot67")).json()
        changed = {**spot67, "title": "Pwned"}
        assert (await http.put("/stac/collections/spot67", json=changed)).status_code == 401
        assert (await http.delete("/stac/collections/spot67")).status_code == 401
        item = next(i for i in demo_items if i["collection"] == "spot67")
        path = f"/stac/collections/spot67/items/{item['id']}"
        assert (await http.delete(path)).status_code == 401
        assert (await http.get(path)).status_code == 200
        assert (await http.get("/stac/collections/spot67")).json()["title"] == spot67["title"]


@pytest.fixture
async def collection(
    client: httpx.AsyncClient, demo_items: list[dict[str, Any]]
) -> AsyncIterator[dict[str, Any]]:
    spot67 = (await client.get("/collections/spot67")).json()
    body = {k: v for k, v in spot67.items() if k not in ("links",)}
    body.update(id=COLLECTION_ID, title="Transactions test", links=[])
    yield body
    await client.delete(f"/collections/{COLLECTION_ID}", headers=ADMIN)


def item_for(demo_items: list[dict[str, Any]]) -> dict[str, Any]:
    item = copy.deepcopy(next(i for i in demo_items if i["collection"] == "spot67"))
    item.update(id="TX-ITEM-1", collection=COLLECTION_ID)
    return item


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({}, 401, id="no-credential"),
        pytest.param({"Authorization": "Bearer wrong"}, 403, id="wrong-token"),
        pytest.param({"Authorization": "Basic YWRtaW46YWRtaW4="}, 401, id="not-bearer"),
    ],
)
async def test_writes_are_refused_without_the_admin(
    client: httpx.AsyncClient, collection: dict[str, Any], headers: dict[str, str], status: int
) -> None:
    response = await client.post("/collections", json=collection, headers=headers)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"code", "description"}
    assert (await client.get(f"/collections/{COLLECTION_ID}")).status_code == 404
    response = await client.delete("/collections/spot67", headers=headers)
    assert response.status_code == status
    assert (await client.get("/collections/spot67")).status_code == 200


async def test_admin_creates_updates_and_deletes(
    client: httpx.AsyncClient, collection: dict[str, Any], demo_items: list[dict[str, Any]]
) -> None:
    assert (await client.post("/collections", json=collection, headers=ADMIN)).status_code == 201
    item = item_for(demo_items)
    path = f"/collections/{COLLECTION_ID}/items"
    assert (await client.post(path, json=item, headers=ADMIN)).status_code == 201
    served = (await client.get(f"{path}/{item['id']}")).json()
    assert (
        served["properties"]["dinamis:datastrip_id"] == item["properties"]["dinamis:datastrip_id"]
    )

    item["properties"]["eo:cloud_cover"] = 99.5
    response = await client.put(f"{path}/{item['id']}", json=item, headers=ADMIN)
    assert response.status_code == 200, response.text
    served = (await client.get(f"{path}/{item['id']}")).json()
    assert served["properties"]["eo:cloud_cover"] == 99.5

    assert (await client.delete(f"{path}/{item['id']}", headers=ADMIN)).status_code == 200
    assert (await client.get(f"{path}/{item['id']}")).status_code == 404


async def test_transactions_disabled_without_a_configured_credential(
    database: str, storage_root: Path, collection: dict[str, Any]
) -> None:
    app = make_app(database, storage_root, admin_token=None)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        response = await http.post("/collections", json=collection, headers=ADMIN)
    assert response.status_code == 403
    assert "aucun identifiant d'administration" in response.json()["description"]
