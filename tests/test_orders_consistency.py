"""An order read is one snapshot (issue 19): a request and its statuses, read in two queries,
agree even when a worker delivers it between them (no read skew)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from tests.registry import bearer
from tests.test_ordering import BRUCE, filed_tasking

DELIVERED = [{"collection": "pleiades", "id": "livraison-concurrente"}]


@pytest.fixture
async def order_id(client: httpx.AsyncClient) -> str:
    """A tasking request filed by BRUCE (received, nothing delivered)."""
    return await filed_tasking(client)


@pytest.fixture
def delivered_between_reads(app: FastAPI, database: str, order_id: str) -> Iterator[None]:
    """Right after the app's first read of the request, another transaction delivers it
    (status and items together, as the worker does) and commits."""
    engine = app.state.services.database.engine.sync_engine
    done: list[bool] = []

    def deliver(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if done or "FROM ordering.requests" not in statement:
            return
        done.append(True)
        with psycopg.connect(database, autocommit=True) as other, other.transaction():
            other.execute(
                "UPDATE ordering.requests SET status = 'completed', delivered = %s::jsonb "
                "WHERE id = %s",
                (psycopg.types.json.Jsonb(DELIVERED), order_id),
            )
            other.execute(
                "INSERT INTO ordering.statuses (request_id, status, actor) "
                "VALUES (%s, 'completed', 'worker')",
                (order_id,),
            )

    event.listen(engine, "after_cursor_execute", deliver)
    try:
        yield
    finally:
        event.remove(engine, "after_cursor_execute", deliver)
    assert done, "the request was never read"


async def test_an_order_read_agrees_with_itself_while_it_is_delivered(
    client: httpx.AsyncClient, order_id: str, delivered_between_reads: None
) -> None:
    headers = await bearer(client, BRUCE)
    read = await client.get(f"/ordering/orders/{order_id}", headers=headers)
    assert read.status_code == 200, read.text
    status = read.json()["properties"]["status"]
    items = [link["href"] for link in status["links"] if link["rel"] == "item"]
    # Before the delivery (received, no items) or after it (completed, its items), never a
    # mix: the status of one moment with the items of another.
    assert (status["status_code"], len(items)) in {("received", 0), ("completed", 1)}

    # Read again, the delivery shows whole; the snapshot's connection went back writable.
    again = (await client.get(f"/ordering/orders/{order_id}", headers=headers)).json()
    assert again["properties"]["status"]["status_code"] == "completed"
    message = await client.post(
        f"/ordering/orders/{order_id}/messages", json={"body": "Merci !"}, headers=headers
    )
    assert message.status_code == 201, message.text
