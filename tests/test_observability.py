"""What an operator watches: the probes, the metrics and who may read them, the request id in
and out, in the logs and in the jobs a request defers; and the site served under a sub-path
behind a trusted reverse proxy."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import procrastinate
import psycopg
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from pydantic import SecretStr

from extensions.database import application_lane
from extensions.jobs import make_jobs
from extensions.observability import (
    ObservabilitySettings,
    carry_request_ids,
    configure_logging,
    request_id,
)
from stac_api.app import create_app
from tests.conftest import make_settings
from tests.registry import INSTRUCTOR, bearer

METRICS_TOKEN = "scraper-" + "x" * 32
PROXY = {"X-Forwarded-Host": "catalogue.example.fr", "X-Forwarded-Proto": "https"}
SITE = "https://catalogue.example.fr/dinamis"


@pytest.fixture(scope="module")
async def proxied(
    database: str, storage_root: Path, demo_items: list[dict[str, Any]], registry_demo: list[str]
) -> AsyncIterator[httpx.AsyncClient]:
    """The site as a reverse proxy serves it under /dinamis/ (it strips the prefix), with the
    metrics served to the scraper's token."""
    settings = make_settings(database, storage_root, trusted_proxies=["127.0.0.1"])
    settings = settings.model_copy(
        update={"observability": ObservabilitySettings(metrics_token=SecretStr(METRICS_TOKEN))}
    )
    application: FastAPI = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(
            app=application, root_path="/dinamis", client=("127.0.0.1", 4321)
        )
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api:8080/dinamis", headers=PROXY
        ) as http:
            yield http


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_liveness_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "alive"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "jobs": "ok"},
    }


async def test_readiness_says_which_schema_is_behind(
    client: httpx.AsyncClient, database: str
) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        (head,) = conn.execute("SELECT version_num FROM ordering.alembic_version").fetchone()  # type: ignore[misc]
        conn.execute("UPDATE ordering.alembic_version SET version_num = 'older'")
        try:
            answer = await client.get("/readyz")
        finally:
            conn.execute("UPDATE ordering.alembic_version SET version_num = %s", [head])
    assert answer.status_code == 503
    checks = answer.json()["checks"]
    assert checks["database"] == "ok" and checks["jobs"] == "ok"
    assert checks["migrations"] == (
        f"behind: schema ordering at older, expected {head} (run `dinamis db migrate`)"
    )


async def test_metrics_are_for_the_scraper_only(
    client: httpx.AsyncClient, proxied: httpx.AsyncClient
) -> None:
    off = await client.get("/metrics")  # the shared app has no metrics token
    assert off.status_code == 403
    assert "DINAMIS_METRICS_TOKEN" in off.json()["description"]
    assert (await proxied.get("/metrics")).status_code == 401
    wrong = await proxied.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403


async def test_metrics_count_requests_searches_signatures_downloads_and_jobs(
    proxied: httpx.AsyncClient, demo_items: list[dict[str, Any]]
) -> None:
    item = demo_items[3]
    route = "/collections/{collection_id}/items/{item_id}"
    before = {
        "route": sample(
            "dinamis_http_request_duration_seconds_count", method="GET", route=route, status="200"
        ),
        "aggregate": sample("dinamis_search_duration_seconds_count", kind="aggregate"),
        "signed": sample("dinamis_signatures_total", via="item"),
        "downloads": sample("dinamis_downloads_total", collection=item["collection"]),
    }
    headers = await bearer(proxied, INSTRUCTOR)
    served = await proxied.get(
        f"/collections/{item['collection']}/items/{item['id']}", headers=headers
    )
    assert served.status_code == 200
    href = served.json()["assets"]["data"]["href"]
    assert href.startswith(f"{SITE}/assets/")
    assert (
        await proxied.get(href.removeprefix(SITE), headers={"Range": "bytes=0-99"})
    ).status_code == 206
    searched = sample("dinamis_search_duration_seconds_count", kind="search")
    assert (await proxied.post("/search", json={"limit": 1})).status_code == 200
    assert (
        await proxied.get("/aggregate", params={"aggregations": "total_count"})
    ).status_code == 200

    metrics = await proxied.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert (
        sample(
            "dinamis_http_request_duration_seconds_count", method="GET", route=route, status="200"
        )
        == before["route"] + 1
    )
    assert sample("dinamis_search_duration_seconds_count", kind="search") == searched + 1
    assert (
        sample("dinamis_search_duration_seconds_count", kind="aggregate") == before["aggregate"] + 1
    )
    assert sample("dinamis_signatures_total", via="item") > before["signed"]
    assert (
        sample("dinamis_downloads_total", collection=item["collection"]) == before["downloads"] + 1
    )
    text = metrics.text
    assert (
        'dinamis_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/collections/{collection_id}/items/{item_id}",status="200"}'
        in text
    )
    assert re.search(r"^# TYPE dinamis_jobs gauge$", text, re.MULTILINE)
    assert "dinamis_airbus_request_duration_seconds" in text


async def test_request_id_in_and_out(client: httpx.AsyncClient) -> None:
    made = (await client.get("/healthz")).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    kept = await client.get("/healthz", headers={"X-Request-ID": "proxy-42.a:b"})
    assert kept.headers["x-request-id"] == "proxy-42.a:b"
    # Not an id (a forged log line): replaced, never echoed.
    forged = await client.get("/healthz", headers={"X-Request-ID": 'x" level=ERROR'})
    assert forged.headers["x-request-id"] != 'x" level=ERROR'
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["x-request-id"])


async def test_json_logs_carry_the_request_id(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("INFO", "json")
    try:
        await client.get("/collections", headers={"X-Request-ID": "req-json-1"})
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    lines = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    access = next(line for line in lines if line["logger"] == "dinamis.access")
    assert access["request_id"] == "req-json-1"
    assert access["route"] == "/collections" and access["status"] == 200
    assert access["level"] == "INFO" and access["message"].startswith("GET /collections 200")


async def test_jobs_run_with_the_request_id_that_deferred_them(database: str) -> None:
    seen: list[str | None] = []
    blueprint = procrastinate.Blueprint()

    @blueprint.task(name="note", queue="observability-test")
    async def note(value: int) -> None:
        seen.append(f"{value} {request_id.get()}")

    jobs = make_jobs({"test": blueprint})
    carry_request_ids(jobs)
    async with application_lane(database) as lane, jobs.open_async(lane.pool):
        token = request_id.set("req-job-7")
        try:
            job_id = await jobs.configure_task("test:note").defer_async(value=1)
        finally:
            request_id.reset(token)
        await jobs.configure_task("test:note").defer_async(value=2)  # outside any request
        await jobs.run_worker_async(
            queues=["observability-test"], wait=False, install_signal_handlers=False
        )
        async with lane.pool.connection() as conn:
            row = await (
                await conn.execute(
                    "SELECT args, status FROM procrastinate_jobs WHERE id = %s", [job_id]
                )
            ).fetchone()
    assert row is not None and row[0] == {"value": 1, "_request_id": "req-job-7"}
    assert sorted(seen) == ["1 req-job-7", "2 None"]


# -- under a sub-path -------------------------------------------------------------------------


async def test_links_pages_and_assets_under_the_sub_path(proxied: httpx.AsyncClient) -> None:
    landing = (await proxied.get("/", headers={"Accept": "application/json"})).json()
    hrefs = [link["href"] for link in landing["links"]]
    assert hrefs and all(h.startswith(f"{SITE}/") or h == SITE for h in hrefs), hrefs
    search = (await proxied.get("/search", params={"limit": 1})).json()
    assert all(link["href"].startswith(f"{SITE}/") for link in search["links"])
    item = search["features"][0]
    assert all(link["href"].startswith(f"{SITE}/") for link in item["links"])
    assert item["assets"]["thumbnail"]["href"].startswith(f"{SITE}/")

    for page in ("/", "/api.html", "/portail"):
        html = await proxied.get(page, headers={"Accept": "text/html"})
        assert html.status_code == 200, page
        for ref in re.findall(r'(?:href|src|action)="([^"#]+)"', html.text):
            if ref.startswith(("http://", "https://", "mailto:", "data:")):
                assert ref.startswith(SITE) or "catalogue.example.fr" not in ref, (page, ref)
                continue
            assert ref.startswith("/dinamis/"), (page, ref)
            fetched = await proxied.get(
                ref.removeprefix("/dinamis"), headers={"Accept": "text/html"}
            )
            assert fetched.status_code in (200, 303), (page, ref, fetched.status_code)


async def test_redirects_under_the_sub_path(proxied: httpx.AsyncClient) -> None:
    moved = await proxied.get("/compte")  # a page that needs a session: to the sign-in page
    assert moved.status_code == 303
    assert moved.headers["location"].startswith(("/dinamis/connexion", f"{SITE}/connexion"))
    favicon = await proxied.get("/favicon.ico")
    assert favicon.headers["location"] == "/dinamis/static/favicon.svg"
