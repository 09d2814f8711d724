"""The client package (`client/`, issue 20, 1) against a live `dinamis serve`: installed alone
in a fresh virtualenv it signs in, searches and downloads a signed item; it resumes a cut
download, checks sizes and checksums, says why an item is refused, and its pystac-client
modifier signs with collection tokens it caches and renews."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import venv
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from importlib.metadata import Distribution, distribution
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import psycopg
import pytest
from dinamis_client import AccessRefused, Session
from dinamis_client.cli import main
from dinamis_client.download import Downloader
from packaging.requirements import Requirement
from pypgstac.load import Methods
from pystac_client import Client

from ingest.loader import load_items
from tests.registry import DEMO_PASSWORD
from tests.test_access import MONTPELLIER, clone
from tests.test_live import api_key

PROJECT = Path(__file__).resolve().parent.parent
BRUCE = "bruce.wayne@formation.example"  # licences of every collection
SANS_PLEIADES = "sans.pleiades@autre.example"  # SPOT 6/7 only
RD_USER = "rd.user@prive.example"  # a private entity: items of its mission only


def placed(items: list[dict[str, Any]], collection: str, name: str, **asset: Any) -> dict[str, Any]:
    """A copy of a demo item (its files exist) over Montpellier in 2022, `CLIENT-<name>`."""
    item = clone(items, collection, name, "2022-03-01T10:30:00Z", MONTPELLIER, "CLIENT")
    item["assets"]["data"].update(asset)
    return item


def multihash(path: Path) -> str:
    """`file:checksum` of a file: sha2-256 as a multihash in hex."""
    return "1220" + hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def items(
    database: str, storage_root: Path, demo_items: list[dict[str, Any]]
) -> Iterator[dict[str, dict[str, Any]]]:
    spot = next(i for i in demo_items if i["collection"] == "spot67")
    spot_file = storage_root / spot["assets"]["data"]["href"]
    made = {
        "pleiades": placed(demo_items, "pleiades", "PHR"),
        "checked": placed(
            demo_items,
            "spot67",
            "SPOT-CHECKED",
            **{"file:size": spot_file.stat().st_size, "file:checksum": multihash(spot_file)},
        ),
        "corrupt": placed(
            demo_items, "spot67", "SPOT-CORRUPT", **{"file:checksum": "1220" + "0" * 64}
        ),
    }
    load_items(database, list(made.values()), mode=Methods.upsert)
    yield made
    with psycopg.connect(database) as conn:
        conn.execute("DELETE FROM pgstac.items WHERE id LIKE 'CLIENT-%'")


class Watched(httpx.HTTPTransport):
    """The real transport, recording the byte ranges asked; with `cut`, each range's
    connection drops after that many bytes, as a network does."""

    def __init__(self, cut: int | None = None) -> None:
        super().__init__()
        self.cut = cut
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = super().handle_request(request)
        if self.cut is None or request.headers.get("range") in (None, "bytes=0-0"):
            return response
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=Dropped(response.stream, self.cut),
            extensions=response.extensions,
        )

    def ranges(self) -> list[str]:
        asked = (r.headers.get("range") for r in self.requests if "/assets/" in r.url.path)
        return [value for value in asked if value and value != "bytes=0-0"]


class Dropped(httpx.SyncByteStream):
    def __init__(self, stream: Any, budget: int) -> None:
        self.stream, self.budget = stream, budget

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.stream:
            yield chunk[: self.budget]
            self.budget -= len(chunk)
            if self.budget <= 0:
                raise httpx.ReadError("connection reset")

    def close(self) -> None:
        self.stream.close()


def linked_closure(name: str, site: Path) -> None:
    """Links into `site` the installed distributions `name` requires, and theirs: what pip
    would install from an index, offline."""
    seen: dict[str, Distribution] = {}
    wanted = [req for req in distribution(name).requires or [] if "extra ==" not in req]
    while wanted:
        requirement = Requirement(wanted.pop())
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        found = distribution(requirement.name)
        if found.metadata["Name"].lower() in seen:
            continue
        seen[found.metadata["Name"].lower()] = found
        wanted += found.requires or []
    for found in seen.values():
        tops = {f.parts[0] for f in found.files or [] if f.parts[0] not in ("..", "__pycache__")}
        for top in tops:
            source = Path(str(found.locate_file(top)))
            if source.exists() and not (site / top).exists():
                (site / top).symlink_to(source)


@pytest.fixture(scope="module")
def fresh_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtualenv holding the client's wheel and its declared dependencies only."""
    root = tmp_path_factory.mktemp("fresh")
    venv.create(root / "venv", with_pip=False)
    python = root / "venv" / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index", "--no-build-isolation",
         "-w", str(root / "wheels"), str(PROJECT / "client")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    wheel = next((root / "wheels").glob("dinamis_client-*.whl"))
    installed = subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True
    )
    assert installed.returncode == 0, installed.stderr
    site = next((root / "venv" / "lib").glob("python3*/site-packages"))
    linked_closure("dinamis-client", site)
    check = subprocess.run([*pip, "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr  # every requirement is there
    return root / "venv" / "bin"


def test_installed_alone_it_signs_in_searches_and_downloads(
    live_url: str,
    fresh_client: Path,
    tmp_path: Path,
    storage_root: Path,
    demo_items: list[dict[str, Any]],
) -> None:
    outside = subprocess.run(
        [fresh_client / "python", "-c", "import stac_api"], cwd=tmp_path, capture_output=True
    )
    assert outside.returncode != 0  # none of the server comes with the client
    item = next(i for i in demo_items if i["collection"] == "pleiades")
    command = [
        fresh_client / "dinamis-client", "download", "--url", live_url,
        "--collections", "pleiades", "--ids", item["id"], "--out", tmp_path / "out",
    ]  # fmt: skip
    env = {"PATH": os.environ["PATH"], "COLUMNS": "200", "DINAMIS_USERNAME": BRUCE}

    def download(password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command,
            env={**env, "DINAMIS_PASSWORD": password},
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )

    done = download(DEMO_PASSWORD)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "out" / "pleiades" / item["id"]
    name = Path(item["assets"]["data"]["href"]).name
    assert (folder / name).read_bytes() == (
        storage_root / item["assets"]["data"]["href"]
    ).read_bytes()
    assert "1 downloaded" in done.stderr
    assert not list(folder.glob("*.part"))
    again = download(DEMO_PASSWORD)
    assert again.returncode == 0 and "1 already there" in again.stderr
    wrong = download("wrong")
    assert wrong.returncode == 1 and BRUCE in wrong.stderr


def test_a_cut_download_resumes_where_each_range_stopped(
    live_url: str, tmp_path: Path, storage_root: Path, demo_items: list[dict[str, Any]]
) -> None:
    item = next(i for i in demo_items if i["collection"] == "pleiades")
    expected = (storage_root / item["assets"]["data"]["href"]).read_bytes()
    key = api_key(live_url, BRUCE)
    cut = Watched(cut=100_000)
    with Session(live_url, api_key=key, transport=cut) as session:
        first = Downloader(session, tmp_path, parallel=2).run(session.search(ids=[item["id"]]))
    assert list(first.failed.values()) == ["connection reset"]
    folder = tmp_path / "pleiades" / item["id"]
    parts = sorted(folder.glob("*.part"), key=lambda p: int(p.name.split(".")[-2].split("-")[0]))
    assert len(parts) == 2 and all(0 < p.stat().st_size <= 100_000 for p in parts)
    remaining = []
    for part in parts:
        start, end = (int(n) for n in part.name.split(".")[-2].split("-"))
        remaining.append(f"bytes={start + part.stat().st_size}-{end}")

    watched = Watched()
    with Session(live_url, api_key=key, transport=watched) as session:
        second = Downloader(session, tmp_path, parallel=2).run(session.search(ids=[item["id"]]))
    assert second.complete and len(second.downloaded) == 1
    assert sorted(watched.ranges()) == sorted(remaining)  # only the missing bytes
    assert second.downloaded[0].read_bytes() == expected
    assert not list(folder.glob("*.part"))


def test_refused_items_are_said_and_files_are_checked(
    live_url: str,
    items: dict[str, dict[str, Any]],
    storage_root: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    monkeypatch.setenv("DINAMIS_API_KEY", api_key(live_url, SANS_PLEIADES))
    ids = ",".join(item["id"] for item in items.values())
    status = main(["download", "--url", live_url, "--ids", ids, "--out", str(tmp_path)])
    said = capsys.readouterr().err
    assert status == 1
    address = f"{live_url}collections/pleiades/items/{items['pleiades']['id']}/assets/data"
    why = httpx.get(address, headers={"X-API-Key": os.environ["DINAMIS_API_KEY"]})
    assert why.status_code == 403
    assert f"✗ pleiades/{items['pleiades']['id']}: {why.json()['description']}" in said
    checked = items["checked"]
    name = Path(checked["assets"]["data"]["href"]).name
    assert (tmp_path / "spot67" / checked["id"] / name).read_bytes() == (
        storage_root / checked["assets"]["data"]["href"]
    ).read_bytes()
    assert f"✗ spot67/{items['corrupt']['id']} data: checksum mismatch" in said
    assert not (tmp_path / "spot67" / items["corrupt"]["id"] / name).exists()
    assert not (tmp_path / "pleiades" / items["pleiades"]["id"]).exists()
    assert "1 downloaded, 0 already there, 1 item(s) refused, 1 failed." in said


def test_the_modifier_signs_with_cached_and_renewed_tokens(
    live_url: str, items: dict[str, dict[str, Any]]
) -> None:
    watched = Watched()
    session = Session(live_url, api_key=api_key(live_url, BRUCE), transport=watched)
    anonymous = Client.open(live_url, modifier=session.sign_inplace)  # signed by the modifier
    found = list(anonymous.search(collections=["pleiades"], max_items=3).items())
    tokens = [r for r in watched.requests if r.url.path == "/token/pleiades"]
    assert len(found) == 3 and len(tokens) == 1  # one token for the collection
    href = found[0].assets["data"].href
    assert "token=" in href and found[0].assets["data"].extra_fields["dinamis:expires"]
    part = httpx.get(href, headers={"Range": "bytes=0-1023"}, follow_redirects=True)
    assert part.status_code == 206 and len(part.content) == 1024
    assert session.sign(href)[0] == href  # fresh: kept
    session.renew_before = 5 * 3600  # every token now counts as about to expire
    session.sign_inplace(found[1])
    assert len([r for r in watched.requests if r.url.path == "/token/pleiades"]) == 2

    # A private entity's rights depend on each item: no token, a signature per asset.
    asked = Watched()
    mission = Session(live_url, username=RD_USER, password=DEMO_PASSWORD, transport=asked)
    in_mission = Client.open(live_url, modifier=mission.sign_inplace).search(
        ids=[items["pleiades"]["id"]]
    )
    signed = next(in_mission.items())
    assert "sig=" in signed.assets["data"].href
    assert any(r.url.path == "/sign" for r in asked.requests)
    assert httpx.get(signed.assets["data"].href, headers={"Range": "bytes=0-9"}).status_code == 206

    refused = Session(live_url, api_key=api_key(live_url, SANS_PLEIADES))
    with pytest.raises(AccessRefused, match="licence"):
        refused.sign_inplace(found[2])


@pytest.fixture
def device_provider() -> Iterator[str]:
    """An OpenID Connect provider's device flow (RFC 8628) on 127.0.0.1: the user approves at
    the second poll."""
    polls: list[str] = []

    class Provider(BaseHTTPRequestHandler):
        def answer(self, status: int, body: dict[str, Any]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(body).encode())

        def do_GET(self) -> None:
            issuer = f"http://127.0.0.1:{self.server.server_port}"
            self.answer(
                200,
                {
                    "issuer": issuer,
                    "device_authorization_endpoint": f"{issuer}/device",
                    "token_endpoint": f"{issuer}/token",
                },
            )

        def do_POST(self) -> None:
            form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            if self.path == "/device":
                assert form["client_id"] == ["dinamis-stac"]
                self.answer(
                    200,
                    {
                        "device_code": "D-1",
                        "user_code": "WDJB-MJHT",
                        "verification_uri": "https://sso.example/device",
                        "interval": 0,
                        "expires_in": 60,
                    },
                )
            elif len(polls) < 1:
                polls.append(form["device_code"][0])
                self.answer(400, {"error": "authorization_pending"})
            else:
                self.answer(200, {"access_token": "a.jwt.token", "expires_in": 300})

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_the_oidc_device_flow_signs_in(device_provider: str) -> None:
    shown: list[str] = []
    session = Session("http://127.0.0.1:9/")
    session.sign_in_with_device(device_provider, "dinamis-stac", shown.append)
    assert shown == ["Open https://sso.example/device and approve the code WDJB-MJHT."]
    assert session.headers == {"Authorization": "Bearer a.jwt.token"}
