"""Bearer tokens of an external OpenID Connect provider: a JWT signed by a key the provider
publishes (JWKS, served here on 127.0.0.1) names a DINAMIS account by its e-mail."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from pgstac.cluster import free_port
from registry_plugin.settings import OidcSettings
from tests.conftest import make_app

ISSUER = "https://sso.example/realms/dinamis"
AUDIENCE = "dinamis-stac"


@pytest.fixture(scope="module")
def provider() -> Iterator[tuple[Any, str]]:
    """A signing key and the URL of its JWKS."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    port = free_port()
    server = HTTPServer(("127.0.0.1", port), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield key, f"http://127.0.0.1:{port}/certs"
    server.shutdown()


@pytest.fixture
async def oidc_client(
    database: str,
    storage_root: Path,
    registry_demo: list[str],
    demo_items: list[dict[str, Any]],
    provider: tuple[Any, str],
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[httpx.AsyncClient]:
    for name, value in {"ISSUER": ISSUER, "JWKS_URL": provider[1], "AUDIENCE": AUDIENCE}.items():
        monkeypatch.setenv(f"DINAMIS_OIDC_{name}", value)
    app = make_app(database, storage_root)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as http,
    ):
        yield http


def token(key: Any, **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
        "email": "bruce.wayne@formation.example",
        "email_verified": True,
    }
    present = {k: v for k, v in {**payload, **claims}.items() if v is not None}
    return jwt.encode(present, key, algorithm="RS256", headers={"kid": "k1"})


async def test_oidc_tokens_name_accounts(
    oidc_client: httpx.AsyncClient, provider: tuple[Any, str]
) -> None:
    key = provider[0]
    me = await oidc_client.get("/auth/me", headers={"Authorization": f"Bearer {token(key)}"})
    assert me.status_code == 200, me.text
    assert (
        me.json()["account"]["email"] == "bruce.wayne@formation.example"
        and me.json()["via"] == "oidc"
    )
    signed = await oidc_client.get(
        "/search",
        params={"collections": "pleiades", "limit": 1},
        headers={"Authorization": f"Bearer {token(key)}"},
    )
    assert signed.json()["features"][0]["properties"]["dinamis:access"] == "downloadable"

    forged = jwt.encode(
        {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "exp": int(time.time()) + 60,
            "email": "bruce.wayne@formation.example",
        },
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    refused = {
        "forged": forged,
        "expired": token(key, exp=int(time.time()) - 3600),
        "other issuer": token(key, iss="https://evil.example"),
        "other audience": token(key, aud="someone-else"),
        "unknown account": token(key, email="nobody@exemple.fr"),
        "pending account": token(key, email="nouveau.membre@formation.example"),
        "no e-mail": token(key, email=None),
        "unverified e-mail": token(key, email_verified=False),
        "e-mail not said verified": token(key, email_verified=None),
        "no audience": token(key, aud=None),
    }
    for case, value in refused.items():
        response = await oidc_client.get("/auth/me", headers={"Authorization": f"Bearer {value}"})
        assert response.status_code == 401, case
        assert response.json()["description"], case


def test_oidc_needs_an_audience(provider: tuple[Any, str]) -> None:
    """Without an audience any token of the provider, issued to any of its clients, would
    be taken: the settings refuse to enable OIDC without one."""
    with pytest.raises(ValueError, match="DINAMIS_OIDC_AUDIENCE"):
        OidcSettings(issuer=ISSUER, jwks_url=provider[1])
    assert OidcSettings(issuer=ISSUER, jwks_url=provider[1], audience=AUDIENCE).enabled
