"""A read replica: a streaming copy of the session's cluster (`pg_basebackup`). Catalogue reads
go there with pgstac in read-only mode, writes to the primary; a client that just wrote reads
its write from the primary while the replica has not replayed it (its replay paused here), and
a credential made a moment ago is found on the primary."""

from __future__ import annotations

import asyncio
import copy
import os
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psycopg
import pytest
from fastapi import FastAPI

from extensions import facets
from extensions.readyourwrites import COOKIE
from pgstac.cluster import EmbeddedCluster
from pgstac.settings import ClusterSettings, DatabaseSettings
from stac_api.app import create_app
from tests.conftest import ADMIN_TOKEN, make_settings
from tests.registry import INSTRUCTOR, bearer
from tests.test_facets import deletion_running

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ITEM_ID = "REPLICA-ITEM-1"

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DINAMIS_TEST_DATABASE_URL")),
    reason="the replica is made from the embedded cluster",
)


@pytest.fixture(scope="module")
def replica(database: str, home: Path) -> Iterator[str]:
    """The DSN of a hot standby following the session's cluster."""
    primary = EmbeddedCluster(ClusterSettings(home=home / "cluster"))
    standby = primary.copy(ClusterSettings(home=home / "replica"))
    status = standby.start()
    assert status.dsn is not None
    try:
        yield status.dsn
    finally:
        standby.stop()
        shutil.rmtree(standby.data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
async def app(
    database: str,
    replica: str,
    storage_root: Path,
    demo_items: list[dict[str, Any]],
    registry_demo: list[str],
) -> AsyncIterator[FastAPI]:
    settings = make_settings(database, storage_root).model_copy(
        update={"database": DatabaseSettings(url=database, reader_url=replica)}
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


def client(app: FastAPI) -> httpx.AsyncClient:
    """A client with its own cookies, as a browser or a script's session."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def replay(replica: str, action: str) -> None:
    with psycopg.connect(replica, autocommit=True) as conn:
        conn.execute(f"SELECT pg_wal_replay_{action}()")


async def replayed(replica: str, position: str, seconds: float = 30) -> None:
    """Wait (bounded) for the replica to replay the primary's log up to `position`."""
    deadline = time.monotonic() + seconds
    with psycopg.connect(replica, autocommit=True) as conn:
        while not conn.execute(
            "SELECT pg_last_wal_replay_lsn() - '0/0' >= %s::numeric", [position]
        ).fetchone()[0]:  # type: ignore[index]
            assert time.monotonic() < deadline, "the replica did not catch up"
            await asyncio.sleep(0.05)


async def test_reads_go_to_the_replica_in_pgstac_readonly_mode(app: FastAPI) -> None:
    database = app.state.services.database
    assert database.replicated
    async with database.read() as conn:
        assert await conn.fetchval("SELECT pg_is_in_recovery()")
        assert await conn.fetchval("SELECT pgstac.readonly()")
    async with database.write() as conn:
        assert not await conn.fetchval("SELECT pg_is_in_recovery()")
        assert not await conn.fetchval("SELECT pgstac.readonly()")
    async with client(app) as http:
        # A hot standby refuses any write: these answer only if pgstac writes nothing.
        found = await http.get("/search", params={"collections": "spot67", "limit": 2})
        assert found.status_code == 200, found.text
        assert len(found.json()["features"]) == 2
        page = await http.post("/search", json={"collections": ["spot67"], "limit": 2})
        assert page.status_code == 200, page.text
        counted = await http.post("/aggregate", json={"collections": ["spot67"]})
        assert counted.status_code == 200, counted.text
        tile = await http.get("/footprints/5/16/11", params={"collections": "spot67"})
        assert tile.status_code in (200, 204), tile.text
        assert COOKIE not in http.cookies  # searches sent by POST are reads


async def test_a_client_reads_its_own_write_while_the_replica_lags(
    app: FastAPI, replica: str, demo_items: list[dict[str, Any]]
) -> None:
    item = copy.deepcopy(next(i for i in demo_items if i["collection"] == "spot67"))
    item["id"] = ITEM_ID
    path = f"/collections/spot67/items/{ITEM_ID}"
    replay(replica, "pause")
    try:
        async with client(app) as writer, client(app) as other:
            created = await writer.post("/collections/spot67/items", json=item, headers=ADMIN)
            assert created.status_code == 201, created.text
            position = writer.cookies[COOKIE]
            assert (await other.get(path)).status_code == 404  # the replica has not replayed it
            assert (await writer.get(path)).status_code == 200  # the writer reads the primary
            assert writer.cookies[COOKIE] == position  # until the replica has it

            replay(replica, "resume")
            await replayed(replica, position)
            assert (await other.get(path)).status_code == 200
            assert (await writer.get(path)).status_code == 200
            assert COOKIE not in writer.cookies  # caught up: the writer reads the replica again
    finally:
        replay(replica, "resume")
        async with client(app) as admin:
            await admin.delete(path, headers=ADMIN)


async def test_a_credential_made_a_moment_ago_is_found_on_the_primary(
    app: FastAPI, replica: str
) -> None:
    replay(replica, "pause")
    try:
        async with client(app) as script:
            token = await bearer(script, INSTRUCTOR)
        async with client(app) as other:  # no cookie: its reads go to the replica
            me = await other.get("/auth/me", headers=token)
            assert me.status_code == 200, me.text
            assert me.json()["account"]["email"] == INSTRUCTOR
            unknown = await other.get("/auth/me", headers={"Authorization": "Bearer nope"})
            assert unknown.status_code == 401
    finally:
        replay(replica, "resume")


async def test_a_forged_position_is_ignored(app: FastAPI) -> None:
    async with client(app) as http:
        http.cookies.set(COOKIE, "'; DROP TABLE items; --")
        assert (await http.get("/collections/spot67")).status_code == 200


def primary_position(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute("SELECT (pg_current_wal_insert_lsn() - '0/0')::text").fetchone()
    assert row is not None
    return str(row[0])


async def test_a_count_kept_on_the_replica_follows_a_write_running_when_it_was_made(
    database: str, replica: str, demo_items: list[dict[str, Any]]
) -> None:
    """A standby's snapshot lists none of the primary's running transactions as running:
    a count made there while a deletion runs is made again once the deletion is replayed."""
    reader = await asyncpg.connect(replica, server_settings={"search_path": "pgstac,public"})
    try:
        with deletion_running(database, 10, 993) as (deleting, ids):
            await replayed(replica, primary_position(deleting))
            facets.REMEMBERED.clear()
            before = (await facets.count(reader, {}, None, None)).total
            deleting.commit()
            await replayed(replica, primary_position(deleting))
            after = (await facets.count(reader, {}, None, None)).total
        assert after == before - len(ids)
    finally:
        await reader.close()
