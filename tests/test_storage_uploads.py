"""The registry's files in the asset storage (issue 19): with S3 configured, a convention,
project description or act that one API process stored is served by another that shares only
the database and the bucket (each with a local folder of its own), a worker mails the act from
the bucket, refused uploads store nothing, and rows naming a local path still read it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from extensions.assets import StorageSettings
from extensions.mail import MailSeal, OutboxMessage
from extensions.mail.outbox import build_email
from tests.conftest import make_app, new_bucket, s3_environment
from tests.registry import FORMATION_RD, INSTRUCTOR, PASSWORD, bearer, pdf, submit, unique
from tests.registry import adhesion as adhesion_form
from tests.test_registry_relays import adherent, designate

BUCKET = "dinamis-shared"


@dataclass
class Replica:
    app: FastAPI
    http: httpx.AsyncClient
    root: Path  # its own local folder, shared with nobody


@pytest.fixture(scope="module")
def bucket(s3_endpoint: str) -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as env:
        s3_environment(env, s3_endpoint)
        yield new_bucket(s3_endpoint, BUCKET)


def keys(s3: Any) -> list[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return sorted(o["Key"] for o in listed)


async def replica(database: str, root: Path) -> AsyncIterator[Replica]:
    storage = StorageSettings(root=root, s3_url=f"s3://{BUCKET}/site")
    app = make_app(database, root, storage=storage)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http,
    ):
        yield Replica(app, http, root)


@pytest.fixture(scope="module")
async def first(
    database: str, registry_demo: list[str], bucket: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Replica]:
    async for one in replica(database, tmp_path_factory.mktemp("first")):
        yield one


@pytest.fixture(scope="module")
async def second(
    database: str, bucket: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Replica]:
    async for one in replica(database, tmp_path_factory.mktemp("second")):
        yield one


def local_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


async def test_a_convention_stored_by_one_process_is_served_by_another(
    first: Replica, second: Replica, bucket: Any, database: str
) -> None:
    relay = await adherent(first.http, {})
    entity = relay["entity"]["id"]
    document = pdf(3000)
    designated = await designate(first.http, entity, document)
    assert designated.status_code == 201, designated.text
    stored = [k for k in keys(bucket) if k.startswith("site/registry/conventions/")]
    assert len(stored) == 1
    assert bucket.get_object(Bucket=BUCKET, Key=stored[0])["Body"].read() == document
    assert local_files(first.root) == []  # nothing on the receiving process' disk

    url = f"/registry/entities/{entity}/relay-convention"
    served = await second.http.get(url, headers=await bearer(second.http, INSTRUCTOR))
    assert served.status_code == 200, served.text
    assert served.content == document
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"] == 'attachment; filename="convention.pdf"'
    # The same permission as before: another entity's referent is refused, nothing is read.
    other = await second.http.get(url, headers=await bearer(second.http, FORMATION_RD))
    assert other.status_code == 403, other.text

    # The act generated at the acceptance: served by the other process to the entity's
    # referent, and mailed by a worker that reads it from the bucket.
    referent = await bearer(second.http, relay["referent"], PASSWORD)
    act = await second.http.get(f"/registry/adhesions/{relay['id']}/act", headers=referent)
    assert act.status_code == 200, act.text
    assert act.content.startswith(b"%PDF-")
    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT id FROM dinamis.outbox WHERE reference = %s AND template = %s",
            (f"adhesion:{relay['id']}", "adhesion_accepted"),
        ).fetchone()
    assert row is not None
    services = second.app.state.services
    async with services.database.session() as session:
        message = await session.get(OutboxMessage, row[0])
        assert message is not None
        mail = build_email(
            message,
            services.settings.mail,
            MailSeal(services.settings.web.secret_keys),
            services.hrefs.storage,
        )
    [attached] = [p.get_content() for p in mail.iter_attachments()]
    assert attached == act.content

    # A row written before the storage names a local path: still read from that disk.
    legacy = second.root / "legacy-convention.pdf"
    legacy.write_bytes(pdf(10))
    with psycopg.connect(database) as conn:
        conn.execute(
            "UPDATE registry.relay_conventions SET document_path = %s WHERE entity_id = %s",
            (str(legacy), entity),
        )
    again = await second.http.get(url, headers=await bearer(second.http, INSTRUCTOR))
    assert again.status_code == 200 and again.content == legacy.read_bytes()
    # …and one another process received, on a disk this one does not have: a 404, not a 500.
    legacy.unlink()
    gone = await second.http.get(url, headers=await bearer(second.http, INSTRUCTOR))
    assert gone.status_code == 404, gone.text
    # A mail queued before names its attachment by that path too: still attached.
    queued = OutboxMessage(
        id=0,
        recipients=["rl@exemple.fr"],
        subject="Acte",
        body="Ci-joint.",
        attachments=[{"path": str(legacy), "filename": "acte.pdf"}],
    )
    legacy.write_bytes(pdf(10))
    mail = build_email(queued, services.settings.mail, MailSeal(["k" * 32]))
    assert [p.get_content() for p in mail.iter_attachments()] == [legacy.read_bytes()]


async def test_a_project_description_is_shared_and_refused_files_store_nothing(
    first: Replica, second: Replica, bucket: Any, database: str
) -> None:
    referent, body = unique("referent"), adhesion_form("private_rd")
    description = pdf(5000)
    created = await submit(
        first.http, body, referent, files={"description": ("projet.pdf", description)}
    )
    assert created.status_code == 201, created.text
    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT id FROM registry.missions WHERE entity_id = %s",
            (created.json()["entity"]["id"],),
        ).fetchone()
    assert row is not None
    served = await second.http.get(
        f"/registry/missions/{row[0]}/description", headers=await bearer(second.http, INSTRUCTOR)
    )
    assert served.status_code == 200, served.text
    assert served.content == description

    # Not a PDF, or over 25 MB: refused, and nothing reaches the bucket or a local disk.
    before = keys(bucket)
    entity = (await adherent(first.http, {}))["entity"]["id"]
    not_pdf = await designate(first.http, entity, b"PK\x03\x04 a zip")
    assert not_pdf.status_code == 415, not_pdf.text
    too_large = await designate(first.http, entity, pdf(25 * 2**20 + 1))
    assert too_large.status_code == 413, too_large.text
    rd = adhesion_form("private_rd")
    refused = await submit(
        first.http, rd, unique("referent"), files={"description": ("projet.pdf", b"<html>")}
    )
    assert refused.status_code == 415, refused.text
    assert [k for k in keys(bucket) if k not in before and "/conventions/" in k] == []
    assert [k for k in keys(bucket) if k not in before and "/missions/" in k] == []
    assert local_files(first.root) == []
