"""Every request body is bounded before it is parsed: a body over its route's limit gets a 413
that says the limit, whether it declares its size (Content-Length) or streams it (chunked),
before any sign-in, CSRF or form check, and nothing of it is written to disk."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import make_app

MB = 2**20


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Python's temporary folder for the test: Starlette spools uploaded files there."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def files_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


async def streamed(size: int, head: bytes = b"", tail: bytes = b"") -> AsyncIterator[bytes]:
    """A body sent in 64 KB chunks with no Content-Length (chunked transfer)."""
    yield head
    for _ in range(size // (64 * 2**10)):
        yield b" " * (64 * 2**10)
    yield tail


def file_part(name: str, filename: str) -> bytes:
    return (
        f'--b\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


MULTIPART = {"Content-Type": "multipart/form-data; boundary=b"}


async def test_a_huge_declared_body_is_refused_before_it_is_read(
    client: httpx.AsyncClient,
) -> None:
    """A Content-Length of 1 TB on a JSON route: refused at once, with the limit said."""
    response = await client.post(
        "/search",
        content=b"{}",
        headers={"Content-Type": "application/json", "Content-Length": str(2**40)},
    )
    assert response.status_code == 413, response.text[:300]
    assert "1 Mo" in response.json()["description"]


async def test_a_chunked_body_is_cut_once_over_the_limit(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/search",
        content=streamed(3 * MB, b'{"collections": ["', b'"]}'),
        headers={"Content-Type": "application/json"},
    )
    assert "Content-Length" not in response.request.headers
    assert response.status_code == 413, response.text[:300]
    assert "1 Mo" in response.json()["description"]


async def test_the_limit_is_a_setting(
    database: str, storage_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DINAMIS_BODY_MAX_KB", "4")
    app = make_app(database, storage_root)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        response = await http.post("/search", json={"ids": ["x" * 5000]})
    assert response.status_code == 413, response.text[:300]
    assert "4 Ko" in response.json()["description"]


async def test_sign_in_refuses_a_large_multipart_body(
    pages: httpx.AsyncClient, temp_dir: Path
) -> None:
    """Before the CSRF check and the sign-in: nothing spooled to disk."""
    declared = await pages.post(
        "/connexion",
        data={"email": "a@b.fr", "password": "x"},
        files={"file": ("big.bin", b"\0" * (3 * MB))},
    )
    assert declared.status_code == 413, declared.text[:300]
    assert "1 Mo" in declared.json()["description"]
    field = b'--b\r\nContent-Disposition: form-data; name="password"\r\n\r\n'
    chunked = await pages.post("/connexion", content=streamed(3 * MB, field), headers=MULTIPART)
    assert chunked.status_code == 413, chunked.text[:300]
    assert files_in(temp_dir) == []


async def test_a_form_without_files_refuses_one(pages: httpx.AsyncClient, temp_dir: Path) -> None:
    """The sign-in form takes no file: a small one is refused, not stored."""
    form = await pages.get("/connexion")
    token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = await pages.post(
        "/connexion",
        data={"csrf_token": token, "email": "a@b.fr", "password": "x"},
        files={"file": ("small.bin", b"\0" * (512 * 2**10))},
    )
    assert response.status_code == 400, response.text[:300]
    assert "file" in response.json()["description"].lower()
    assert files_in(temp_dir) == []


async def test_area_of_interest_upload_is_bounded_before_sign_in(
    client: httpx.AsyncClient, temp_dir: Path
) -> None:
    """`POST /ordering/aoi` takes 10 MB files (DINAMIS_ORDERING_UPLOAD_MAX_MB); more is
    refused before the caller is even asked to sign in."""
    declared = await client.post(
        "/ordering/aoi", files={"file": ("zone.geojson", b" " * (11 * MB))}
    )
    assert declared.status_code == 413, declared.text[:300]
    assert "10 Mo" in declared.json()["description"]
    chunked = await client.post(
        "/ordering/aoi",
        content=streamed(11 * MB, file_part("file", "zone.geojson")),
        headers=MULTIPART,
    )
    assert chunked.status_code == 413, chunked.text[:300]
    assert files_in(temp_dir) == []
    # Within the limit, the sign-in is asked as before.
    small = await client.post("/ordering/aoi", files={"file": ("zone.geojson", b"{}")})
    assert small.status_code == 401, small.text[:300]


async def test_adhesion_upload_is_bounded_before_anything_is_stored(
    client: httpx.AsyncClient, app: FastAPI, temp_dir: Path
) -> None:
    """`POST /registry/adhesions` takes a 25 MB description; more is refused before the
    ticket is read, and the registry's files are left as they were."""
    stored = app.state.services.settings.storage.local_root / "registry"
    before = files_in(stored)
    for content, headers in (
        ({"files": {"description": ("projet.pdf", b"%PDF-" + b" " * (26 * MB))}}, {}),
        (
            {"content": streamed(26 * MB, file_part("description", "projet.pdf") + b"%PDF-")},
            MULTIPART,
        ),
    ):
        response = await client.post(
            "/registry/adhesions",
            data={"ticket": "x", "adhesion": "{}"} if "files" in content else None,
            headers=headers,
            **content,
        )
        assert response.status_code == 413, response.text[:300]
        assert "25 Mo" in response.json()["description"]
    assert files_in(stored) == before
    assert files_in(temp_dir) == []
