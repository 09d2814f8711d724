"""Bad input gets a clear 4xx as `{code, description}`, never a 500."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ENGLISH = {"Accept-Language": "en"}  # the words below are the English of the messages


def assert_client_error(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "description"}, body
    for word in words:
        assert word.lower() in body["description"].lower(), body


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        pytest.param({"bbox": "1,2,3"}, 400, ["4 or 6"], id="bbox-3-values"),
        pytest.param({"bbox": "a,b,c,d"}, 400, ["bbox"], id="bbox-not-numbers"),
        pytest.param({"bbox": "0,50,10,40"}, 400, ["latitude"], id="bbox-south-above-north"),
        pytest.param({"bbox": "0,-100,10,100"}, 400, ["bounding box"], id="bbox-out-of-range"),
        pytest.param({"bbox": "nan,44,3,45"}, 400, ["bbox[0]"], id="bbox-nan"),
        pytest.param({"collections": "nope"}, 400, ["unknown collection", "nope"], id="unknown-collection"),
        pytest.param({"collections": "spot67,nope"}, 400, ["nope"], id="one-unknown-collection"),
        pytest.param({"filter": "eo:cloud_cover <"}, 400, ["invalid filter"], id="cql2-text-syntax"),
        pytest.param({"filter": "{bad", "filter-lang": "cql2-json"}, 400, ["invalid filter"], id="cql2-json-syntax"),
        pytest.param({"filter": '{"op":"foo","args":[]}', "filter-lang": "cql2-json"}, 400, ["foo"], id="cql2-unknown-op"),
        pytest.param({"filter": "eo:cloud_cover = 'abc'"}, 400, ["abc"], id="cql2-type-mismatch"),
        pytest.param({"filter": "datetime > 'notadate'"}, 400, ["notadate"], id="cql2-bad-timestamp"),
        pytest.param({"filter": "id = 'x'", "filter-lang": "cql3"}, 400, ["filter-lang"], id="filter-lang"),
        pytest.param({"limit": "0"}, 400, ["limit"], id="limit-zero"),
        pytest.param({"limit": "-5"}, 400, ["limit"], id="limit-negative"),
        pytest.param({"limit": "lots"}, 400, ["limit"], id="limit-not-a-number"),
        pytest.param({"datetime": "2020-13-45"}, 400, ["datetime"], id="datetime-invalid"),
        pytest.param({"datetime": "2021-01-01T00:00:00Z/2020-01-01T00:00:00Z"}, 400, ["before"], id="datetime-reversed"),
        pytest.param({"datetime": "../.."}, 400, ["open-ended"], id="datetime-open-both"),
        pytest.param({"intersects": "notjson"}, 400, ["intersects"], id="intersects-not-json"),
        pytest.param({"intersects": '{"type":"Point"}'}, 400, ["coordinates"], id="intersects-no-coordinates"),
        pytest.param({"query": "notjson"}, 400, ["query"], id="query-not-json"),
        pytest.param({"query": '{"gsd":{"lt":1}}', "filter": "id='x'"}, 400, ["`query` or `filter`"], id="query-and-filter"),
        pytest.param({"token": "next:garbage"}, 400, ["token"], id="bad-token"),
        pytest.param({"q": "a&|!"}, 400, ["tsquery"], id="free-text-syntax"),
        pytest.param({"sortby": "-"}, 400, ["sortby"], id="empty-sort-field"),
    ],
)  # fmt: skip
async def test_bad_get_search(
    client: httpx.AsyncClient, params: dict[str, str], status: int, words: list[str]
) -> None:
    assert_client_error(await client.get("/search", params=params, headers=ENGLISH), status, *words)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param({"collections": ["nope"]}, ["nope"], id="unknown-collection"),
        pytest.param({"bbox": [1, 2, 3]}, ["bbox"], id="bbox-3-values"),
        pytest.param({"limit": 0}, ["limit"], id="limit-zero"),
        pytest.param({"fields": None}, ["fields"], id="fields-null"),
        pytest.param({"fields": "id"}, ["fields"], id="fields-string"),
        pytest.param({"filter": {"op": "<", "args": [{"property": "gsd"}]}}, ["invalid filter"], id="cql2-arity"),
        pytest.param({"intersects": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}}, ["intersects"], id="polygon-too-short"),
        pytest.param({"datetime": "yesterday"}, ["datetime"], id="datetime"),
        pytest.param({"sortby": [{"field": "gsd", "direction": "up"}]}, ["direction"], id="sort-direction"),
    ],
)  # fmt: skip
async def test_bad_post_search(
    client: httpx.AsyncClient, body: dict[str, Any], words: list[str]
) -> None:
    assert_client_error(await client.post("/search", json=body, headers=ENGLISH), 400, *words)


async def test_bad_post_bodies(client: httpx.AsyncClient) -> None:
    for content in (b"{not json", b"[1, 2]", b'"a string"', b'{"query": ' + b"[" * 100_000):
        response = await client.post(
            "/search", content=content, headers={"content-type": "application/json"}
        )
        assert_client_error(response, 400)


async def test_numbers_beyond_json_are_refused(client: httpx.AsyncClient) -> None:
    """Python's JSON reader takes NaN and 1e999 (infinity): a body holding one is refused and
    says where, whether a bbox's range check would catch it or not."""
    for body, where in (
        (b'{"bbox": [NaN, 44, 3, 45]}', "bbox[0]"),
        (b'{"intersects": {"type": "Point", "coordinates": [2, 1e999]}}', "intersects"),
        (b'{"query": {"eo:cloud_cover": {"lt": -Infinity}}}', "query.eo:cloud_cover.lt"),
    ):
        for path in ("/search", "/aggregate"):
            response = await client.post(
                path, content=body, headers={"content-type": "application/json", **ENGLISH}
            )
            assert_client_error(response, 400, where)


async def test_not_found(client: httpx.AsyncClient) -> None:
    assert_client_error(await client.get("/collections/nope"), 404, "nope")
    assert_client_error(await client.get("/collections/nope/items"), 404, "nope")
    assert_client_error(await client.get("/collections/spot67/items/nope"), 404, "nope")
    assert_client_error(await client.get("/no/such/route"), 404)


async def test_absurdly_large_limit_is_capped_not_refused(client: httpx.AsyncClient) -> None:
    """OGC API Features: a limit above the maximum is served at the maximum."""
    response = await client.get("/search", params={"limit": 10**9, "collections": "pleiades-neo"})
    assert response.status_code == 200


# Fuzzing: whatever a client sends in these parameters, the answer is never a 5xx.
junk = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
numberish = st.one_of(
    junk,
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=7).map(
        lambda xs: ",".join(map(str, xs))
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    bbox=st.one_of(st.none(), numberish),
    datetime=st.one_of(st.none(), junk, st.datetimes().map(lambda d: d.isoformat() + "Z")),
    limit=st.one_of(st.none(), junk, st.integers(-10, 10**12).map(str)),
    cql=st.one_of(st.none(), junk, st.sampled_from(["gsd < 1", "platform = 'spot-6'", "A_CONTAINS(instruments, ('naomi'))"])),
    sortby=st.one_of(st.none(), junk),
    fields=st.one_of(st.none(), junk),
    intersects=st.one_of(st.none(), junk),
)  # fmt: skip
async def test_fuzzed_search_never_fails_on_the_server(
    client: httpx.AsyncClient, **params: str | None
) -> None:
    query = {("filter" if k == "cql" else k): v for k, v in params.items() if v is not None}
    response = await client.get("/search", params=query)
    assert response.status_code < 500, (query, response.text)
    if response.status_code >= 400:
        assert set(response.json()) == {"code", "description"}


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.dictionaries(
        st.sampled_from(["bbox", "datetime", "limit", "filter", "sortby", "fields", "intersects", "collections", "ids", "query", "token"]),
        st.recursive(
            st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.floats() | junk,
            lambda children: st.lists(children, max_size=4) | st.dictionaries(junk, children, max_size=3),
            max_leaves=8,
        ),
        max_size=4,
    )
)  # fmt: skip
async def test_fuzzed_post_search_never_fails_on_the_server(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post("/search", content=json.dumps(body).encode())
    assert response.status_code < 500, (body, response.text)
