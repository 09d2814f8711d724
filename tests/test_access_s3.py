"""Assets in S3: permitted callers get boto3 presigned GET URLs, read from a real
S3-protocol server (moto's server mode); public assets go through a signed redirect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from extensions.assets import StorageSettings
from extensions.assets.settings import S3Settings
from extensions.assets.storage import OutsideStorage, S3Storage
from tests.conftest import S3_REGION, make_app, new_bucket, s3_environment
from tests.registry import INSTRUCTOR, bearer


@pytest.fixture
async def s3_client(
    database: str,
    storage_root: Path,
    s3_endpoint: str,
    demo_items: list[dict[str, Any]],
    registry_demo: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its asset files in a bucket (the first items' files copied there)."""
    s3_environment(monkeypatch, s3_endpoint)
    bucket = new_bucket(s3_endpoint, "dinamis-assets")
    for item in demo_items[:20]:
        for asset in item["assets"].values():
            body = (storage_root / asset["href"]).read_bytes()
            bucket.put_object(Bucket="dinamis-assets", Key=f"archive/{asset['href']}", Body=body)
    storage = StorageSettings(root=storage_root, s3_url="s3://dinamis-assets/archive")
    app = make_app(database, storage_root, storage=storage)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        yield http


async def test_s3_assets_are_presigned_for_permitted_callers(
    s3_client: httpx.AsyncClient,
    demo_items: list[dict[str, Any]],
    storage_root: Path,
    s3_endpoint: str,
) -> None:
    item = next(i for i in demo_items[:20] if i["collection"] == "pleiades")
    url = f"/collections/pleiades/items/{item['id']}"
    served = (await s3_client.get(url, headers=await bearer(s3_client, INSTRUCTOR))).json()
    signed = served["assets"]["data"]["href"]
    assert signed.startswith("http://testserver/assets/") and s3_endpoint not in signed
    # Every use of the signed URL goes through the API, which audits it (defect 13 of
    # issue 15: S3 downloads were not audited), then redirects to a presigned GET.
    before = datetime.now(UTC)  # other tests may have downloaded this demo item already
    redirect = await s3_client.get(signed, headers={"Range": "bytes=0-4095"})
    assert redirect.status_code == 307, redirect.text
    data = redirect.headers["location"]
    assert data.startswith(f"{s3_endpoint}/dinamis-assets/archive/") and "X-Amz-Signature=" in data
    assert "X-Amz-Expires=300" in data  # minutes, not the signature's hours
    audit = await s3_client.get(
        "/access/downloads",
        params={"item": item["id"], "since": before.isoformat()},
        headers=await bearer(s3_client, INSTRUCTOR),
    )
    assert [(row["requests"], row["bytes"]) for row in audit.json()] == [(1, 4096)]
    local = (storage_root / item["assets"]["data"]["href"]).read_bytes()
    async with httpx.AsyncClient() as outside:
        part = await outside.get(data, headers={"Range": "bytes=0-4095"})
        assert part.status_code == 206 and part.content == local[:4096]
        unsigned = await outside.get(data.split("?")[0])
        assert unsigned.status_code == 403  # the bucket itself is private

        # A public asset: our stable signed URL, redirected to a presigned GET.
        thumbnail = served["assets"]["thumbnail"]["href"]
        redirect = await s3_client.get(thumbnail)
        assert redirect.status_code == 307 and "X-Amz-Signature=" in redirect.headers["location"]
        fetched = await outside.get(redirect.headers["location"])
        assert fetched.content == (storage_root / item["assets"]["thumbnail"]["href"]).read_bytes()

    anonymous = (await s3_client.get(url)).json()
    assert s3_endpoint not in anonymous["assets"]["data"]["href"]
    preview = await s3_client.get(
        f"{url}/preview.png",
        params={"bidx": [1, 2, 3], "rescale": "0,3000", "max_size": 64},
        headers=await bearer(s3_client, INSTRUCTOR),
    )
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/png"


async def test_a_delivery_a_worker_unpacked_is_copied_to_the_bucket(
    s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers and API processes share no disk: a delivery goes to the bucket (issue 19)."""
    s3_environment(monkeypatch, s3_endpoint)
    bucket = new_bucket(s3_endpoint, "dinamis-deliveries")
    folder = tmp_path / "deliveries" / "R-1" / "products"
    (folder / "P1" / "IMG").mkdir(parents=True)
    (folder / "P1" / "IMG" / "IMG.TIF").write_bytes(b"II*\0delivered")
    s3 = S3Settings(endpoint_url=s3_endpoint, region_name=S3_REGION)
    storage = S3Storage("s3://dinamis-deliveries/archive", s3)
    storage.upload(folder, "deliveries/R-1/products")
    key = "archive/deliveries/R-1/products/P1/IMG/IMG.TIF"
    body = bucket.get_object(Bucket="dinamis-deliveries", Key=key)["Body"].read()
    assert body == b"II*\0delivered"
    with pytest.raises(OutsideStorage):
        storage.upload(folder, "../elsewhere")
