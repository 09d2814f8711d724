"""Property-based tests of the whole API from its OpenAPI (schemathesis): every operation is
called with generated parameters and bodies, valid and invalid, anonymously and signed in as a
licensed account. No answer may be a server error, every 4xx says what is wrong, and answers
conform to the schema the OpenAPI declares for them.

The run is bounded and repeatable: a fixed number of examples per operation and generation
mode, derandomized. Nothing here can damage the demo data other tests read: the signed-in
caller is a licensed account of its own, and the transaction routes (the admin's) must refuse
both callers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import response_schema_conformance

from simulators.oneatlas import SimulatorSettings
from tests.airbus import running_simulator
from tests.conftest import make_app
from tests.registry import DEMO_PASSWORD, PASSWORD, bearer, member
from tests.test_federation import KEY, oneatlas

EXAMPLES = 10
"""Examples per operation and generation mode (positive, negative)."""

TRANSACTIONS = {
    ("POST", "/collections"),
    ("PUT", "/collections/{collection_id}"),
    ("PATCH", "/collections/{collection_id}"),
    ("DELETE", "/collections/{collection_id}"),
    ("POST", "/collections/{collection_id}/items"),
    ("POST", "/collections/{collection_id}/bulk_items"),
    ("PUT", "/collections/{collection_id}/items/{item_id}"),
    ("PATCH", "/collections/{collection_id}/items/{item_id}"),
    ("DELETE", "/collections/{collection_id}/items/{item_id}"),
}
"""The admin's routes: neither caller here holds the admin token."""


@pytest.fixture(scope="module")
async def licensed(client: httpx.AsyncClient) -> str:
    """The e-mail of a new validated account of the demo's training entity, certified for every
    product licence (its API keys, projects and orders are its own)."""
    _, email, _ = await member(
        client, "Formation_6_11", ["spot67", "pleiades-cat1", "pwh", "pleiades-neo"]
    )
    return email


@pytest.fixture(scope="module")
def api_app(
    database: str, storage_root: Path, demo_items: list[dict[str, Any]], registry_demo: list[str]
) -> Iterator[FastAPI]:
    """An app of its own, its commandable archive the OneAtlas simulator: schemathesis runs
    it, lifespan included, in its event loop thread."""
    with running_simulator(SimulatorSettings(archive_size=500, seed=15, api_key=KEY)) as url:
        yield make_app(database, storage_root, oneatlas=oneatlas(url))
        asgi.shutdown_lifespans()


@pytest.fixture(scope="module")
def api_schema(api_app: FastAPI) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/api", api_app)


def clear_client_error(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """A 4xx answers `{code, description}` with a description that says what is wrong."""
    if not 400 <= response.status_code < 500 or case.method == "HEAD":
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    assert isinstance(body, dict) and str(body.get("code") or "").strip(), (
        f"a {response.status_code} without an error code: {response.text[:300]!r}"
    )
    assert str(body.get("description") or "").strip(), (
        f"a {response.status_code} without a description: {response.text[:300]!r}"
    )


def admin_only(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """The transaction routes refuse whoever is not the admin (a body that cannot be read at
    all is refused before who sends it is known)."""
    if (case.method, case.path) not in TRANSACTIONS:
        return
    unreadable = response.status_code == 400 and not is_json(response.request.body)
    assert response.status_code in (401, 403) or unreadable, (
        f"{case.method} {case.path} answered {response.status_code} to a caller who is not the admin"
    )


def is_json(body: bytes | str | None) -> bool:
    try:
        orjson.loads(body or b"")
    except orjson.JSONDecodeError:
        return False
    return True


def explained(error: BaseException) -> str:
    """A failure's report, with each of the distinct failures Hypothesis found (and who
    called)."""
    notes = "".join(f"\n{note}" for note in getattr(error, "__notes__", ()))
    if isinstance(error, BaseExceptionGroup) and not isinstance(error, FailureGroup):
        return "\n".join(explained(e) for e in error.exceptions) + notes
    if isinstance(error, FailureGroup):
        return str(error) + notes
    # a 500 the ASGI client re-raises
    return f"the app raised {type(error).__name__}: {error}{notes}"


def declared_schema(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> Any:
    """The answer conforms to its declared schema; but collections cut down by the collection
    search's `fields` cannot conform to the full Collection stac-fastapi declares for them."""
    if case.method == "GET" and case.path == "/collections" and "fields" in (case.query or {}):
        return None
    return response_schema_conformance(ctx, response, case)


CHECKS_RUN = [
    not_a_server_error,
    declared_schema,
    clear_client_error,
    admin_only,
]


def explore(api_schema: schemathesis.BaseSchema, callers: dict[str, dict[str, str]]) -> None:
    """Every operation in both generation modes, each case sent by every caller (generating
    the cases is most of the time: each is made once); the failures of all operations are
    reported together, each with the curl command that reproduces it."""
    failures: dict[str, str] = {}
    cases = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],  # each failure as found, not shrunk
                suppress_health_check=list(HealthCheck),
            )
            def call(case: schemathesis.Case) -> None:
                nonlocal cases
                cases += 1
                for who, headers in callers.items():
                    try:
                        case.call_and_validate(headers=headers, checks=CHECKS_RUN)
                    except BaseException as error:
                        error.add_note(f"(sent {who})")
                        raise

            try:
                call()
            except Unsatisfiable:
                pass  # nothing to make invalid: an operation without parameters or body
            except (Exception, BaseExceptionGroup) as error:
                failures[f"{operation.label} ({mode})"] = explained(error)
    print(
        f"\n{cases} cases, each sent by {len(callers)} callers, {len(failures)} failing operations"
    )
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


def test_anonymous_and_signed_in(
    api_app: FastAPI, api_schema: schemathesis.BaseSchema, licensed: str
) -> None:
    with asgi.get_client(api_app) as http:
        token = http.post("/auth/token", data={"username": licensed, "password": PASSWORD})
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    explore(api_schema, {"anonymously": {}, "signed in": headers})
    with asgi.get_client(api_app) as http:  # signed in to the end (no case revoked the token)
        assert http.get("/auth/me", headers=headers).status_code == 200


async def test_sign_in_from_a_client_without_ip(app: FastAPI) -> None:
    """A server that gives no IP address for its client (a Unix socket, a name) still signs
    in: the audit records no address instead of failing on it (it was a 500)."""
    transport = httpx.ASGITransport(app=app, client=("testclient", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.post(
            "/auth/token",
            data={"username": "bruce.wayne@formation.example", "password": DEMO_PASSWORD},
        )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "fields",
    [{"include": 1.5}, {"exclude": True}, {"include": [{"a": 1}]}, {"include": ["id", None]}],
)
async def test_malformed_fields_are_refused(client: httpx.AsyncClient, fields: Any) -> None:
    """`fields` whose include or exclude is not a list of names is a 400 (it was a 500)."""
    response = await client.post("/search", json={"fields": fields})
    assert response.status_code == 400, response.text
    assert "fields" in response.json()["description"]


FAR = [[1e300, 0.0], [1e301, 0.0], [1e301, 10.0], [1e300, 10.0], [1e300, 0.0]]


@pytest.mark.parametrize("path", ["/search", "/aggregate"])
@pytest.mark.parametrize(
    "area",
    [
        {"type": "Polygon", "coordinates": [FAR]},
        {"type": "Point", "coordinates": [-1.2e16, -1.1]},  # no edge, no rectangle
    ],
    ids=["rectangle", "point"],
)
async def test_an_area_beyond_the_world_is_counted(
    client: httpx.AsyncClient, path: str, area: dict[str, Any]
) -> None:
    """An `intersects` far outside the world's coordinates matches nothing (it was a 500)."""
    response = await client.post(path, json={"intersects": area})
    assert response.status_code == 200, response.text
    body = response.json()
    counts = {a["name"]: a.get("value") for a in body.get("aggregations", [])}
    assert body.get("numberMatched", counts.get("total_count")) == 0, body


async def test_collections_with_a_query_that_is_not_json(client: httpx.AsyncClient) -> None:
    """A collection search whose `query` is not JSON is a 400 saying so (it was a 500)."""
    response = await client.get("/collections", params={"query": "not json"})
    assert response.status_code == 400, response.text
    assert "query" in response.json()["description"]


async def test_an_order_offset_beyond_postgresql(client: httpx.AsyncClient) -> None:
    """An order list's `next` offset beyond PostgreSQL's bigint is a 400 (it was a 500)."""
    headers = await bearer(client, "bruce.wayne@formation.example")
    response = await client.get("/ordering/orders", params={"next": 2**88}, headers=headers)
    assert response.status_code == 400, response.text
    assert "next" in response.json()["description"]
