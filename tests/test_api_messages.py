"""The API's error messages in the reader's language: French without a choice, English with
`Accept-Language: en` (scripts) or the `dinamis_lang` cookie (the viewer), the same status
and STAC error shape `{code, description}` either way."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pystac_client import Client
from pystac_client.exceptions import APIError

from extensions.signing import Grant, Signer
from tests.conftest import TEST_SECRET
from tests.registry import bearer

BRUCE = "bruce.wayne@formation.example"
EXPIRED = Grant("spot67/SCENE/data.tif", "spot67", "SCENE", "data", None, None, 1)
PROJECT = {
    "title": "Forêts de l'Hérault",
    "kind": "NOPE",
    "end_date": "2999-12-31",
    "description": "Suivi des coupes forestières.",
}

# (method, path, what is sent), status, French, English: the start of each description.
CASES: list[Any] = [
    pytest.param(
        ("GET", "/search", {"params": {"bbox": "1,2,3"}}),
        400,
        "La bbox « 1,2,3 » doit avoir 4 ou 6 valeurs.",
        "BBox '1,2,3' must have 4 or 6 values.",
        id="bbox-3-values",
    ),
    pytest.param(
        ("GET", "/search", {"params": {"bbox": "0,50,10,40"}}),
        400,
        "bbox : le maximum (40.0) doit dépasser le minimum (50.0) en latitude",
        "bbox: the maximum latitude (40.0) must be greater than the minimum (50.0)",
        id="bbox-south-above-north",
    ),
    pytest.param(
        ("GET", "/search", {"params": {"datetime": "2020-13-45"}}),
        400,
        "datetime non valide",
        "Invalid datetime",
        id="datetime",
    ),
    pytest.param(
        ("GET", "/search", {"params": {"datetime": "../.."}}),
        400,
        "Un intervalle `datetime` ne peut pas être ouvert des deux côtés.",
        "A `datetime` interval cannot be open-ended on both sides.",
        id="datetime-open-both",
    ),
    pytest.param(
        ("GET", "/search", {"params": {"intersects": "notjson"}}),
        400,
        "`intersects` doit être du JSON",
        "`intersects` must be JSON",
        id="intersects-not-json",
    ),
    pytest.param(
        ("GET", "/search", {"params": {"query": '{"gsd":{"lt":1}}', "filter": "id='x'"}}),
        400,
        "Donnez `query` ou `filter`, pas les deux.",
        "Use either `query` or `filter`, not both.",
        id="query-and-filter",
    ),
    pytest.param(
        ("GET", "/search", {"params": {"filter": "eo:cloud_cover <"}}),
        400,
        "Filtre non valide : ",
        "Invalid filter: ",
        id="filter",
    ),
    pytest.param(
        ("GET", "/search", {"params": {"limit": "0"}}),
        400,
        "limit : plus de 0",
        "limit: more than 0",
        id="limit",
    ),
    pytest.param(
        ("GET", "/search", {"params": {"sortby": "nope"}}),
        400,
        "Impossible de filtrer ou de trier sur nope",
        "Cannot filter or sort on nope",
        id="sortby",
    ),
    pytest.param(
        ("GET", "/search", {"params": {"collections": "nope"}}),
        400,
        "Collection(s) inconnue(s) : nope.",
        "Unknown collection(s): nope.",
        id="unknown-collection",
    ),
    pytest.param(
        ("GET", "/search", {"params": {"place": "commune:00000"}}),
        400,
        "Id de lieu inconnu 'commune:00000'.",
        "Unknown place id 'commune:00000'.",
        id="place",
    ),
    pytest.param(
        ("POST", "/search", {"content": b"{not json"}),
        400,
        "Le corps de la requête n'est pas du JSON : ",
        "The request body is not JSON: ",
        id="body-not-json",
    ),
    pytest.param(
        ("POST", "/search", {"json": [1, 2]}),
        400,
        "Le corps de la requête doit être un objet JSON.",
        "The request body must be a JSON object.",
        id="body-not-an-object",
    ),
    pytest.param(
        ("GET", "/collections/nope", {}),
        404,
        "La collection nope n'existe pas.",
        "Collection nope does not exist.",
        id="unknown-collection-page",
    ),
    pytest.param(
        ("GET", "/collections/spot67/items/nope", {}),
        404,
        "L'item nope n'existe pas dans la collection spot67.",
        "Item nope in Collection spot67 does not exist.",
        id="unknown-item",
    ),
    pytest.param(
        ("GET", "/aggregate", {"params": {"aggregations": "nope"}}),
        400,
        "Agrégation(s) inconnue(s) : nope.",
        "Unknown aggregation(s): nope.",
        id="aggregation",
    ),
    pytest.param(("GET", "/no/such/route", {}), 404, "Introuvable.", "Not found.", id="no-route"),
    pytest.param(
        ("GET", "/assets/spot67/SCENE/data.tif", {}),
        401,
        "Ce fichier demande une adresse signée",
        "This file needs a signed URL",
        id="unsigned",
    ),
    pytest.param(
        ("GET", "/assets/spot67/SCENE/data.tif", {"params": Signer([TEST_SECRET]).sign(EXPIRED)}),
        403,
        "Cette adresse signée a expiré",
        "This signed URL has expired",
        id="expired-signature",
    ),
    pytest.param(
        ("GET", "/ordering/orders", {"params": {"status": "bogus"}, "signed_in": True}),
        400,
        "Statut inconnu ['bogus'] : l'un de ",
        "Unknown status ['bogus']: one of ",
        id="order-status",
    ),
    pytest.param(
        ("POST", "/ordering/projects", {"json": PROJECT, "signed_in": True}),
        400,
        "kind : Type de projet inconnu : l'un de ",
        "kind: Unknown project type: one of ",
        id="order-project-body",
    ),
]


async def ask(
    client: httpx.AsyncClient, request: tuple[str, str, dict[str, Any]], **headers: str
) -> httpx.Response:
    method, path, sent = request
    sent = dict(sent)
    if sent.pop("signed_in", False):
        headers.update(await bearer(client, BRUCE))
    return await client.request(method, path, headers=headers, **sent)


def description(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "description"}, body
    return str(body["description"])


@pytest.mark.parametrize(("request_", "status", "french", "english"), CASES)
async def test_an_error_speaks_the_readers_language(
    client: httpx.AsyncClient,
    request_: tuple[str, str, dict[str, Any]],
    status: int,
    french: str,
    english: str,
) -> None:
    assert description(await ask(client, request_), status).startswith(french)
    in_english = await ask(client, request_, **{"Accept-Language": "en-GB,en;q=0.9"})
    assert description(in_english, status).startswith(english)


async def test_the_viewers_cookie_chooses_the_language_of_the_api(app: Any) -> None:
    """The viewer calls the API with the language switch's cookie, as the pages."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", cookies={"dinamis_lang": "en"}
    ) as viewer:
        refused = await viewer.get("/search", params={"collections": "nope"})
    assert description(refused, 400).startswith("Unknown collection(s): nope.")


async def test_a_french_client_reads_french_without_a_choice(client: httpx.AsyncClient) -> None:
    """A language the catalogues lack is read as no choice: French."""
    refused = await client.get("/search", params={"limit": "0"}, headers={"Accept-Language": "de"})
    assert description(refused, 400) == "limit : plus de 0"


def test_pystac_client_scripts_read_the_errors(live_url: str) -> None:
    """A pystac-client script gets our description in its APIError, in its language."""
    with pytest.raises(APIError, match=r"Unknown collection\(s\): nope"):
        Client.open(live_url, headers={"Accept-Language": "en"}).search(
            collections=["nope"]
        ).item_collection()
    with pytest.raises(APIError, match=r"Collection\(s\) inconnue\(s\) : nope"):
        Client.open(live_url).search(collections=["nope"]).item_collection()
