"""What an attacker tries against the catalogue: each test fails on the defect it names
(issue 15's security review)."""

from __future__ import annotations

import copy
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from extensions.ratelimit import RateLimitSettings, client_address
from extensions.signing import Grant, SignatureRefused, Signer
from tests.conftest import ADMIN_TOKEN, make_app
from tests.registry import bearer

Items = list[dict[str, Any]]

HREF_LIKE = {"op": "like", "args": [{"property": "assets.data.href"}, "spot67%"]}


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        pytest.param("POST", "/search", {"filter": HREF_LIKE}, id="post-filter"),
        pytest.param(
            "GET",
            "/search",
            {"filter": "assets.data.href LIKE 'spot67%'", "filter-lang": "cql2-text"},
            id="get-filter",
        ),
        pytest.param(
            "POST", "/search", {"query": {"assets.data.href": {"gte": "spot67/2"}}}, id="query"
        ),
        pytest.param(
            "POST",
            "/search",
            {"sortby": [{"field": "assets.data.href", "direction": "asc"}]},
            id="sortby",
        ),
        pytest.param("GET", "/search", {"sortby": "+assets.data.href"}, id="get-sortby"),
        pytest.param(
            "POST",
            "/aggregate",
            {"filter": HREF_LIKE, "aggregations": ["total_count"]},
            id="aggregate",
        ),
        pytest.param(
            "GET",
            "/collections/spot67/items",
            {"filter": "assets.data.href LIKE 'spot67%'"},
            id="items",
        ),
    ],
)
async def test_storage_paths_are_no_oracle(
    client: httpx.AsyncClient, demo_items: Items, method: str, path: str, payload: dict[str, Any]
) -> None:
    """Defect 5: filtering or sorting on `assets.*.href` would tell, character by character,
    where a file is stored; only the declared queryables may be filtered and sorted on."""
    if method == "GET":
        response = await client.get(path, params=payload)
    else:
        response = await client.post(path, json=payload)
    assert response.status_code == 400, response.text
    assert "assets.data.href" in response.json()["description"]
    assert "queryables" in response.json()["description"]


async def test_queryables_still_filter_and_sort(
    client: httpx.AsyncClient, demo_items: Items
) -> None:
    body = {
        "filter": {"op": "<=", "args": [{"property": "properties.eo:cloud_cover"}, 10]},
        "sortby": [{"field": "properties.datetime", "direction": "desc"}],
        "collections": ["spot67"],
    }
    response = await client.post("/search", json={**body, "limit": 5})
    assert response.status_code == 200, response.text
    features = response.json()["features"]
    assert features and all(f["properties"]["eo:cloud_cover"] <= 10 for f in features)
    query = {"query": {"platform": {"eq": "spot-6"}}, "limit": 5}
    response = await client.post("/search", json=query)
    assert response.status_code == 200, response.text
    features = response.json()["features"]
    assert features and all(f["properties"]["platform"] == "spot-6" for f in features)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/assets/spot67/x.tif?sig=%C3%A9t%C3%A9", id="public-sig"),
        pytest.param("/assets/spot67/x.tif?sig=%C3%A9&exp=9999999999&col=spot67", id="grant-sig"),
        pytest.param(
            "/collections/spot67/items/{item}/assets/data?token=1.2.3.%C3%A9", id="collection-token"
        ),
        pytest.param("/federation/oneatlas/image?href=%C3%A9&sig=%C3%A9", id="oneatlas-image"),
    ],
)
async def test_non_ascii_signatures_are_refused(
    client: httpx.AsyncClient, demo_items: Items, path: str
) -> None:
    """Defect 11: a non-ASCII `sig` or `token` was a 500 (`hmac.compare_digest` on text)."""
    item = next(i["id"] for i in demo_items if i["collection"] == "spot67")
    response = await client.get(path.format(item=item))
    assert response.status_code == 403, response.text
    assert response.json()["description"]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}, id="x"),
        pytest.param({"Forwarded": "host=evil.example;proto=https"}, id="forwarded"),
    ],
)
@pytest.mark.parametrize("trusted", [(), ("10.0.0.0/8",)])
async def test_forwarding_headers_of_untrusted_clients_are_ignored(
    database: str, storage_root: Path, headers: dict[str, str], trusted: tuple[str, ...]
) -> None:
    """Defect 4: a client's own `X-Forwarded-Host` chose the links of an anonymous, publicly
    cacheable answer (cache poisoning); only configured proxies are read."""
    app = make_app(database, storage_root, trusted_proxies=trusted)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        response = await http.get("/search", params={"limit": 1}, headers=headers)
    assert response.status_code == 200
    assert "http://t/" in response.text
    assert "evil.example" not in response.text
    assert "public" in response.headers["cache-control"]


async def test_a_trusted_proxy_sets_host_and_client(database: str, storage_root: Path) -> None:
    app = make_app(database, storage_root, trusted_proxies=["127.0.0.1"])
    seen: list[str] = []

    @app.get("/_client")
    async def client_of(request: Request) -> dict[str, str]:
        seen.append(client_address(request))
        return {}

    forwarded = {
        "X-Forwarded-Host": "dinamis.example",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "203.0.113.9, 127.0.0.1",
    }
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        links = (await http.get("/collections/spot67", headers=forwarded)).json()["links"]
        await http.get("/_client", headers=forwarded)
    assert all(link["href"].startswith("https://dinamis.example/") for link in links)
    assert seen == ["203.0.113.9"]


async def test_a_point_outside_the_image_is_a_400(
    client: httpx.AsyncClient, demo_items: Items
) -> None:
    """Defect 15: `…/point/0.0,0.0` of an image far from there was a 500."""
    headers = await bearer(client, "bruce.wayne@formation.example")
    item = next(i for i in demo_items if i["collection"] == "spot67")
    path = f"/collections/spot67/items/{item['id']}/point/0.0,0.0"
    response = await client.get(path, headers=headers)
    assert response.status_code == 400, response.text
    assert "outside" in response.json()["description"].lower()


async def test_an_empty_post_of_the_aggregations_is_answered(client: httpx.AsyncClient) -> None:
    """Defect 15: an empty `POST /collections/{id}/aggregations` was a 500 (its links read
    the body as JSON); the list of aggregations needs no body."""
    response = await client.post(
        "/collections/spot67/aggregations", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    missing = await client.post("/collections/nothing-here/aggregations")
    assert missing.status_code == 404


@pytest.fixture
async def absolute_items(
    client: httpx.AsyncClient, demo_items: Items
) -> AsyncIterator[dict[str, dict[str, Any]]]:
    """Two items written with absolute data hrefs: a local path and a URL."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    template = next(i for i in demo_items if i["collection"] == "spot67")
    made = {}
    for name, href in {
        "path": "/mnt/secret/IMG.tif",
        "url": "https://store.example/IMG.tif",
    }.items():
        item = copy.deepcopy(template)
        item["id"] = f"ABSOLUTE-{name}"
        item["assets"]["data"]["href"] = href
        response = await client.post("/collections/spot67/items", json=item, headers=admin)
        assert response.status_code in (200, 201), response.text
        made[name] = item
    yield made
    for item in made.values():
        await client.delete(f"/collections/spot67/items/{item['id']}", headers=admin)


async def test_absolute_hrefs_are_gated(
    client: httpx.AsyncClient, absolute_items: dict[str, dict[str, Any]]
) -> None:
    """Defect 6: an absolute href (ingested with `--href-prefix /mnt/…` or `https://…`) was
    served as it is to anonymous callers, and `/sign` redirected anyone to it."""
    ids = [item["id"] for item in absolute_items.values()]
    found = await client.post("/search", json={"ids": ids})
    assert found.status_code == 200
    assert "/mnt/secret" not in found.text and "store.example" not in found.text
    for item in absolute_items.values():
        address = f"/collections/spot67/items/{item['id']}/assets/data"
        assert (await client.get(address)).status_code == 401
        assert (await client.get("/sign", params={"href": address})).status_code == 401
        tile = await client.get(
            f"/collections/spot67/items/{item['id']}/tiles/WebMercatorQuad/10/500/350"
        )
        assert tile.status_code == 401

    licensed = await bearer(client, "bruce.wayne@formation.example")
    served = await client.post("/search", json={"ids": ids}, headers=licensed)
    assert "/mnt/secret" not in served.text and "store.example" not in served.text
    url = await client.get(
        f"/collections/spot67/items/{absolute_items['url']['id']}/assets/data", headers=licensed
    )
    assert url.status_code == 307 and url.headers["location"] == "https://store.example/IMG.tif"
    path = await client.get(
        f"/collections/spot67/items/{absolute_items['path']['id']}/assets/data", headers=licensed
    )
    assert path.status_code == 404, path.text


def test_signing_keys_rotate(demo_items: Items) -> None:
    """Defect 7: one key without an id made rotation all-or-nothing. A URL or token names its
    key; the previous key still verifies, a removed one is refused."""
    old, new = "old-" + "o" * 32, "new-" + "n" * 32
    grant = Grant("spot67/a.tif", "spot67", "A", "data", 1, 2, int(time.time()) + 600)
    before = Signer([old])
    url, public = before.sign(grant), before.public("spot67/q.jpg")
    token = before.token("spot67", 1, 2, grant.expires)
    during = Signer([new, old])
    assert during.verify(grant.path, url) == grant
    assert during.verify("spot67/q.jpg", public) is None
    assert during.verify_token(token, "spot67") == (1, 2, grant.expires)
    assert during.sign(grant)["kid"] != url["kid"]  # the new key signs
    after = Signer([new])
    with pytest.raises(SignatureRefused, match="n'a plus"):
        after.verify(grant.path, url)
    with pytest.raises(SignatureRefused):
        after.verify_token(token, "spot67")


async def test_rate_limits_are_shared_by_the_processes(
    database: str, storage_root: Path, rate_limit_counters: None
) -> None:
    """Defect 14: the limiter counted in each process's memory (N workers, N × the limit);
    two apps on one database count one limit."""
    limits = RateLimitSettings(sign_in="3/minute")
    apps = [make_app(database, storage_root, rate_limits=limits) for _ in range(2)]
    statuses = []
    async with (
        apps[0].router.lifespan_context(apps[0]),
        apps[1].router.lifespan_context(apps[1]),
    ):
        for attempt in range(4):
            app = apps[attempt % 2]
            transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 1234))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                response = await http.post(
                    "/auth/token", data={"username": "nobody@exemple.fr", "password": "x"}
                )
                statuses.append(response.status_code)
    assert statuses == [401, 401, 401, 429]


async def test_the_development_mailbox_answers_this_machine_only(
    database: str, storage_root: Path
) -> None:
    """Development mode is the default: a development server left reachable must not show
    everybody's single-use links to whoever opens its mailbox."""
    app = make_app(database, storage_root)
    async with app.router.lifespan_context(app):
        for client, status in ((("127.0.0.1", 1), 200), (("203.0.113.5", 1), 404)):
            transport = httpx.ASGITransport(app=app, client=client)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                assert (await http.get("/portail/courriels")).status_code == status


def test_the_openapi_declares_every_path_parameter(app: FastAPI) -> None:
    """Issue 17, point 19: `…/aggregate` and `…/bulk_items` used `{collection_id}` without
    declaring it, and generated clients could not call them."""
    for path, operations in app.openapi()["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for method, operation in operations.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert names <= declared, (method, path)
