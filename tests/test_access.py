"""Licence-gated downloads: who gets what, for every kind of caller and every operation
(search, item, /sign, /token, download, tiles), on the real database and files."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import psycopg
import pytest
from pypgstac.load import Methods

from extensions.signing import Grant, Signer
from ingest.loader import load_items
from tests.conftest import TEST_SECRET
from tests.registry import (
    DEMO_PASSWORD,
    FORMATION_RD,
    INSTRUCTOR,
    bearer,
    member,
)

MONTPELLIER = {
    "type": "Polygon",
    "coordinates": [[[3.80, 43.55], [3.90, 43.55], [3.90, 43.65], [3.80, 43.65], [3.80, 43.55]]],
}
PARIS = {
    "type": "Polygon",
    "coordinates": [[[2.25, 48.80], [2.40, 48.80], [2.40, 48.90], [2.25, 48.90], [2.25, 48.80]]],
}


def clone(
    items: list[dict[str, Any]],
    collection: str,
    name: str,
    when: str,
    where: dict[str, Any],
    prefix: str = "ACCESS",
) -> dict[str, Any]:
    """A copy of a demo item of `collection` (its files exist) at a chosen time and place,
    with the id `<prefix>-<name>`."""
    source = next(i for i in items if i["collection"] == collection)
    item = copy.deepcopy(source)
    ring = where["coordinates"][0]
    item["id"], item["geometry"] = f"{prefix}-{name}", where
    item["bbox"] = [
        min(x for x, _ in ring),
        min(y for _, y in ring),
        max(x for x, _ in ring),
        max(y for _, y in ring),
    ]
    item["properties"]["datetime"] = when
    for key in ("start_datetime", "end_datetime"):
        item["properties"].pop(key, None)
    return item


@pytest.fixture(scope="module")
def items(database: str, demo_items: list[dict[str, Any]]) -> Iterator[dict[str, dict[str, Any]]]:
    """Items placed for the demo's private R&D mission (SPOT 6/7 and Pléiades over Montpellier,
    acquired 2020–2022), and for the licences; removed afterwards (other tests count items)."""
    placed = {
        "in-mission": clone(
            demo_items, "spot67", "SPOT-MTP-2021", "2021-06-01T10:30:00Z", MONTPELLIER
        ),
        "pleiades-in-mission": clone(
            demo_items, "pleiades", "PHR-MTP-2022", "2022-03-01T10:30:00Z", MONTPELLIER
        ),
        "outside-area": clone(
            demo_items, "spot67", "SPOT-PARIS-2021", "2021-06-01T10:30:00Z", PARIS
        ),
        "outside-period": clone(
            demo_items, "spot67", "SPOT-MTP-2018", "2018-06-01T10:30:00Z", MONTPELLIER
        ),
        "neo": clone(
            demo_items, "pleiades-neo", "PNEO-MTP-2022", "2022-06-01T10:30:00Z", MONTPELLIER
        ),
        "swh": clone(demo_items, "spot-swh", "SWH-MTP-2002", "2002-06-01T10:30:00Z", MONTPELLIER),
    }
    load_items(database, list(placed.values()), mode=Methods.upsert)
    yield placed
    with psycopg.connect(database) as conn:
        conn.execute("DELETE FROM pgstac.items WHERE id LIKE 'ACCESS-%'")


@pytest.fixture(scope="module")
async def callers(client: httpx.AsyncClient) -> dict[str, dict[str, str]]:
    """Headers of each kind of caller."""
    headers = {"anonymous": {}}
    for name, email in {
        "licensed": "bruce.wayne@formation.example",
        "spot-only": "sans.pleiades@autre.example",
        "rd": "rd.user@prive.example",
        "instructor": INSTRUCTOR,
    }.items():
        headers[name] = await bearer(client, email, DEMO_PASSWORD)
    return headers


def item_url(item: dict[str, Any]) -> str:
    return f"/collections/{item['collection']}/items/{item['id']}"


EXPECTED = {
    # caller: {item key: dinamis:access}
    "anonymous": dict.fromkeys(
        ("in-mission", "pleiades-in-mission", "outside-area", "outside-period", "neo", "swh"),
        "sign-in required",
    ),
    "licensed": dict.fromkeys(
        ("in-mission", "pleiades-in-mission", "outside-area", "outside-period", "neo", "swh"),
        "downloadable",
    ),
    "spot-only": {
        "in-mission": "downloadable",
        "pleiades-in-mission": "licence missing",
        "outside-area": "downloadable",
        "outside-period": "downloadable",
        "neo": "licence missing",
        "swh": "downloadable",
    },
    "rd": {
        "in-mission": "downloadable",
        "pleiades-in-mission": "downloadable",
        "outside-area": "outside mission",
        "outside-period": "outside mission",
        "neo": "licence missing",
        "swh": "outside mission",
    },
    "instructor": dict.fromkeys(
        ("in-mission", "pleiades-in-mission", "outside-area", "outside-period", "neo", "swh"),
        "downloadable",
    ),
}
REFUSAL_STATUS = {"sign-in required": 401, "licence missing": 403, "outside mission": 403}


@pytest.mark.parametrize("caller", list(EXPECTED))
async def test_search_and_item_say_who_may_download(
    client: httpx.AsyncClient,
    items: dict[str, dict[str, Any]],
    callers: dict[str, dict[str, str]],
    caller: str,
) -> None:
    ids = {item["id"]: key for key, item in items.items()}
    found = await client.post(
        "/search", json={"ids": list(ids), "limit": 20}, headers=callers[caller]
    )
    assert found.status_code == 200, found.text
    seen = {ids[f["id"]]: f for f in found.json()["features"]}
    assert {k: f["properties"]["dinamis:access"] for k, f in seen.items()} == EXPECTED[caller]
    for key, feature in seen.items():
        data, thumbnail = feature["assets"]["data"], feature["assets"]["thumbnail"]
        storage_path = items[key]["assets"]["data"]["href"]
        if EXPECTED[caller][key] == "downloadable":
            assert "sig=" in data["href"] and "dinamis:expires" in data
        else:  # no usable location, nothing of the storage path
            assert data["href"].endswith(f"{item_url(items[key])}/assets/data")
            assert storage_path not in data["href"] and "dinamis:expires" not in data
        assert "sig=" in thumbnail["href"]  # public, signed for everybody alike
    one = await client.get(item_url(items["in-mission"]), headers=callers[caller])
    assert one.json()["properties"]["dinamis:access"] == EXPECTED[caller]["in-mission"]
    assert one.headers["cache-control"] == (
        "public, max-age=60" if caller == "anonymous" else "private, no-store"
    )


@pytest.mark.parametrize("caller", list(EXPECTED))
async def test_downloads_signatures_and_tiles_follow_the_rights(
    client: httpx.AsyncClient,
    items: dict[str, dict[str, Any]],
    callers: dict[str, dict[str, str]],
    caller: str,
) -> None:
    for key, item in items.items():
        verdict = EXPECTED[caller][key]
        address = f"{item_url(item)}/assets/data"
        signed = await client.get(
            "/sign", params={"href": f"http://testserver{address}"}, headers=callers[caller]
        )
        redirect = await client.get(address, headers=callers[caller])
        preview = await client.get(
            f"{item_url(item)}/preview.png",
            params={"bidx": [1, 2, 3], "rescale": "0,3000", "max_size": 64},
            headers=callers[caller],
        )
        if verdict == "downloadable":
            assert signed.status_code == 200, signed.text
            url = signed.json()["href"]
            part = await client.get(url, headers={"Range": "bytes=0-1023"})  # no credentials needed
            assert part.status_code == 206 and len(part.content) == 1024, key
            assert redirect.status_code == 307 and "sig=" in redirect.headers["location"]
            assert preview.status_code == 200 and preview.headers["content-type"] == "image/png", (
                preview.text
            )
        else:
            status = REFUSAL_STATUS[verdict]
            assert (signed.status_code, redirect.status_code, preview.status_code) == (
                status,
            ) * 3, key
            assert signed.json()["description"]


async def test_downloadable_only_search_is_the_rights_filter(
    client: httpx.AsyncClient, items: dict[str, dict[str, Any]], callers: dict[str, dict[str, str]]
) -> None:
    ids = [i["id"] for i in items.values()]
    for caller, expected in EXPECTED.items():
        body = {"ids": ids, "limit": 20, "downloadable": True}
        found = await client.post("/search", json=body, headers=callers[caller])
        allowed = {items[k]["id"] for k, v in expected.items() if v == "downloadable"}
        assert {f["id"] for f in found.json()["features"]} == allowed, caller
        got = await client.get(
            "/search",
            params={"ids": ",".join(ids), "downloadable": "true"},
            headers=callers[caller],
        )
        assert {f["id"] for f in got.json()["features"]} == allowed, caller
    combined = await client.post(
        "/search",
        json={
            "ids": ids,
            "downloadable": True,
            "filter": {"op": "=", "args": [{"property": "collection"}, "spot67"]},
        },
        headers=callers["rd"],
    )
    assert {f["id"] for f in combined.json()["features"]} == {items["in-mission"]["id"]}
    bad = await client.get("/search", params={"downloadable": "maybe"})
    assert bad.status_code == 400


async def test_collection_tokens(
    client: httpx.AsyncClient, items: dict[str, dict[str, Any]], callers: dict[str, dict[str, str]]
) -> None:
    expected = {
        ("anonymous", "spot67"): 401,
        ("licensed", "pleiades"): 200,
        ("spot-only", "pleiades"): 403,
        ("spot-only", "spot67"): 200,
        ("rd", "spot67"): 403,
        ("instructor", "pleiades-neo"): 200,
    }
    for (caller, collection), status in expected.items():
        response = await client.get(f"/token/{collection}", headers=callers[caller])
        assert response.status_code == status, (caller, collection, response.text)
    token = (await client.get("/token/spot67", headers=callers["spot-only"])).json()["token"]
    address = f"{item_url(items['in-mission'])}/assets/data"
    redirected = await client.get(address, params={"token": token})  # the token alone suffices
    assert redirected.status_code == 307
    assert (await client.get(redirected.headers["location"])).status_code == 200
    other = await client.get(
        f"{item_url(items['pleiades-in-mission'])}/assets/data", params={"token": token}
    )
    assert other.status_code == 403  # a token is for its collection
    assert (await client.get("/token/nope", headers=callers["licensed"])).status_code == 404


async def test_tampered_and_expired_signatures_are_refused(
    client: httpx.AsyncClient, items: dict[str, dict[str, Any]], callers: dict[str, dict[str, str]]
) -> None:
    address = f"http://testserver{item_url(items['pleiades-in-mission'])}/assets/data"
    url = (await client.get("/sign", params={"href": address}, headers=callers["licensed"])).json()[
        "href"
    ]
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    for name, value in {
        "item": "ACCESS-SPOT-MTP-2021",
        "exp": str(int(time.time()) + 99999),
        "acc": "1",
        "sig": ("y" if query["sig"].startswith("x") else "x")
        + query["sig"][1:],  # 1 in 64 began with x
    }.items():
        altered = await client.get(f"{parts.path}?{urlencode({**query, name: value})}")
        assert altered.status_code == 403 and "modifiée" in altered.json()["description"], name
    path = parts.path.removeprefix("/assets/")
    old = Grant(
        path, "pleiades", items["pleiades-in-mission"]["id"], "data", 1, 1, int(time.time()) - 3600
    )
    expired = await client.get(f"{parts.path}?{urlencode(Signer([TEST_SECRET]).sign(old))}")
    assert expired.status_code == 403 and "expiré" in expired.json()["description"]
    unsigned = await client.get(parts.path)
    assert unsigned.status_code == 401
    duration = await client.get(
        "/sign", params={"href": address, "duration": 30}, headers=callers["licensed"]
    )
    assert duration.status_code == 400  # a minute at least
    longest = await client.get(
        "/sign", params={"href": address, "duration": 99999}, headers=callers["licensed"]
    )
    expiry = longest.json()["dinamis:expires"]
    assert (
        time.time() + 4 * 3600 - 5
        <= time.mktime(time.strptime(expiry, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
        <= time.time() + 4 * 3600 + 5
    )
    assert (
        await client.get(
            "/sign", params={"href": "https://elsewhere/x.tif"}, headers=callers["licensed"]
        )
    ).status_code == 400


async def test_expired_deactivated_and_revoked_callers_get_no_new_signature(
    client: httpx.AsyncClient, items: dict[str, dict[str, Any]], database: str
) -> None:
    address = f"http://testserver{item_url(items['in-mission'])}/assets/data"
    expired_id, _, expired_key = await member(client, "Formation_6_11", ["spot67"])
    deactivated_id, _, deactivated_key = await member(client, "Formation_6_11", ["spot67"])
    _, _, revoked_key = await member(client, "Formation_6_11", ["spot67"])
    signed = {}  # made before: they stop working with the account (defect 7 of issue 15)
    for key in (expired_key, deactivated_key, revoked_key):
        response = await client.get("/sign", params={"href": address}, headers={"X-API-Key": key})
        assert response.status_code == 200
        signed[key] = response.json()["href"]
    token = await client.get("/token/spot67", headers={"X-API-Key": deactivated_key})
    assert token.status_code == 200
    with psycopg.connect(database) as conn:
        conn.execute(
            "UPDATE registry.accounts SET expires_on = current_date - 1 WHERE id = %s",
            (expired_id,),
        )
    rd = await bearer(client, FORMATION_RD)
    assert (
        await client.post(f"/registry/accounts/{deactivated_id}/deactivate", headers=rd)
    ).status_code == 200
    keys = (await client.get("/auth/api-keys", headers={"X-API-Key": revoked_key})).json()
    await client.delete(f"/auth/api-keys/{keys[0]['id']}", headers={"X-API-Key": revoked_key})
    for key, word in (
        (expired_key, "expiré"),
        (deactivated_key, "désactivé"),
        (revoked_key, "révoqué"),
    ):
        for path in ("/sign", "/search", f"{item_url(items['in-mission'])}/preview.png"):
            response = await client.get(
                path, params={"href": address, "assets": "data"}, headers={"X-API-Key": key}
            )
            assert response.status_code == 401 and word in response.json()["description"], (
                word,
                path,
            )
    for key in (expired_key, deactivated_key):
        refused = await client.get(signed[key])
        assert refused.status_code == 403 and "ne peut plus" in refused.json()["description"]
    assert (await client.get(signed[revoked_key])).status_code == 200  # its account still may
    by_token = await client.get(address, params={"token": token.json()["token"]})
    assert by_token.status_code == 403 and "ne peut plus" in by_token.json()["description"]


async def test_every_signature_and_download_is_audited(
    client: httpx.AsyncClient, items: dict[str, dict[str, Any]]
) -> None:
    account_id, _, key = await member(client, "Formation_6_11", ["pleiades-cat1"])
    item = items["pleiades-in-mission"]
    found = await client.get(item_url(item), headers={"X-API-Key": key})
    url = found.json()["assets"]["data"]["href"]
    for start in (0, 4096):
        await client.get(url, headers={"Range": f"bytes={start}-{start + 1023}"})
    instructor = await bearer(client, INSTRUCTOR)
    signatures = (
        await client.get("/access/signatures", params={"account": account_id}, headers=instructor)
    ).json()
    assert [(s["collection"], s["item"], s["asset"], s["via"]) for s in signatures] == [
        ("pleiades", item["id"], "data", "item")
    ]
    downloads = (
        await client.get("/access/downloads", params={"account": account_id}, headers=instructor)
    ).json()
    assert len(downloads) == 1
    assert (downloads[0]["item"], downloads[0]["requests"], downloads[0]["bytes"]) == (
        item["id"],
        2,
        2048,
    )
    assert downloads[0]["entity_id"] is not None
    user = await client.get("/access/downloads", headers={"X-API-Key": key})
    assert user.status_code == 403
