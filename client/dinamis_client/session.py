"""A conversation with one DINAMIS server: who signs in, searches, and the signatures of its
asset URLs (the Planetary Computer's model: a token per collection, asked once and renewed
before it expires; a signature per asset where the server grants no token)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import httpx
import pystac

EXPIRES = "dinamis:expires"
ACCESS = "dinamis:access"
RENEW_BEFORE = 120
"""Seconds before its expiry a token, a signed URL or a bearer token is renewed by default:
long enough for GDAL to finish the reads it started."""
ITEM_ASSET = re.compile(r"/collections/([^/]+)/items/([^/]+)/assets/([^/?#]+)$")
GRANT = frozenset({"exp", "col", "item", "asset", "sig"})
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class DinamisError(Exception):
    """What the server refused, with its reason."""


class SignInFailed(DinamisError):
    pass


class AccessRefused(DinamisError, PermissionError):
    """An asset this account may not read: the message says why (licence, mission, sign-in)."""


def reason(response: httpx.Response) -> str:
    """The server's explanation of a refusal (`{code, description}`)."""
    try:
        body = response.json()
    except ValueError:
        return response.text or response.reason_phrase
    if isinstance(body, dict):
        return str(body.get("description") or body.get("error_description") or body)
    return str(body)


def timestamp(expiry: str) -> float:
    return datetime.fromisoformat(expiry).timestamp()


@dataclass(frozen=True)
class Credential:
    value: str
    expires: float
    expiry: str = ""


class Session:
    """Signed in with an API key (`api_key`, the choice for scripts), a password (renewed by
    signing in again when its bearer token expires), or an OIDC device flow."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 60.0,
        renew_before: float = RENEW_BEFORE,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`renew_before`: seconds before their expiry that tokens and signatures are renewed;
        `transport`: httpx's (proxies, certificates, retries)."""
        self.url = url.rstrip("/") + "/"
        self.http = httpx.Client(base_url=self.url, timeout=timeout, transport=transport)
        self.renew_before = renew_before
        self.api_key = api_key
        self.password = (username, password) if username and password else None
        self.bearer: Credential | None = None
        self.tokens: dict[str, Credential | None] = {}
        self.lock = threading.RLock()
        if self.password:
            self.sign_in(*self.password)

    def fresh(self, expires: float) -> bool:
        return expires - self.renew_before > time.time()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()

    # -- signing in ----------------------------------------------------------------------------

    def sign_in(self, username: str, password: str) -> None:
        """The registry's OAuth2 password flow (`POST /auth/token`)."""
        response = self.http.post("auth/token", data={"username": username, "password": password})
        if response.status_code != 200:
            raise SignInFailed(f"{username}: {reason(response)}")
        body = response.json()
        self.bearer = Credential(body["access_token"], time.time() + body["expires_in"])

    def sign_in_with_device(
        self, issuer: str, client_id: str, show: Callable[[str], None] = print
    ) -> None:
        """The OIDC device flow (RFC 8628) at the server's identity provider: `show` tells the
        user where to approve; the provider's access token is then the bearer token."""
        configuration = httpx.get(f"{issuer.rstrip('/')}/.well-known/openid-configuration")
        configuration.raise_for_status()
        endpoints = configuration.json()
        if "device_authorization_endpoint" not in endpoints:
            raise SignInFailed(f"{issuer} offers no device flow.")
        started = httpx.post(
            endpoints["device_authorization_endpoint"],
            data={"client_id": client_id, "scope": "openid email"},
        )
        if started.status_code != 200:
            raise SignInFailed(f"{issuer}: {reason(started)}")
        device = started.json()
        page = device.get("verification_uri_complete") or device["verification_uri"]
        show(f"Open {page} and approve the code {device['user_code']}.")
        interval = float(device.get("interval", 5))
        deadline = time.monotonic() + float(device.get("expires_in", 600))
        while time.monotonic() < deadline:
            time.sleep(interval)
            polled = httpx.post(
                endpoints["token_endpoint"],
                data={
                    "grant_type": DEVICE_GRANT,
                    "device_code": device["device_code"],
                    "client_id": client_id,
                },
            )
            if polled.status_code == 200:
                body = polled.json()
                self.bearer = Credential(
                    body["access_token"], time.time() + float(body.get("expires_in", 300))
                )
                return
            error = polled.json().get("error") if polled.content else None
            if error == "slow_down":
                interval += 5
            elif error != "authorization_pending":
                raise SignInFailed(f"{issuer}: {reason(polled)}")
        raise SignInFailed(f"{issuer}: the code was not approved in time.")

    @property
    def headers(self) -> dict[str, str]:
        """The credential's headers, for pystac-client or any HTTP client."""
        if self.api_key:
            return {"X-API-Key": self.api_key}
        with self.lock:
            if self.bearer and not self.fresh(self.bearer.expires) and self.password:
                self.sign_in(*self.password)
        return {"Authorization": f"Bearer {self.bearer.value}"} if self.bearer else {}

    # -- searching -----------------------------------------------------------------------------

    def search(self, max_items: int | None = None, **parameters: Any) -> Iterator[dict[str, Any]]:
        """Items of a `POST /search` (`collections`, `bbox`, `datetime`, `ids`, `filter`…), page
        after page; those the account may download carry signed data hrefs."""
        body = {key: value for key, value in parameters.items() if value is not None}
        response = self.http.post("search", json=body, headers=self.headers)
        found = 0
        while True:
            if response.status_code != 200:
                raise DinamisError(f"search: {reason(response)}")
            page = response.json()
            for feature in page.get("features", []):
                if max_items is not None and found >= max_items:
                    return
                found += 1
                yield feature
            following = next(
                (link for link in page.get("links", []) if link["rel"] == "next"), None
            )
            if following is None:
                return
            if following.get("method", "GET").upper() == "POST":
                carried = following.get("body") or {}
                response = self.http.post(
                    following["href"],
                    json={**body, **carried} if following.get("merge") else carried or body,
                    headers=self.headers,
                )
            else:
                response = self.http.get(following["href"], headers=self.headers)

    def catalogue(self) -> Any:
        """A pystac-client `Client` of this server that signs what it returns (the
        `pystac-client` extra)."""
        from pystac_client import Client

        return Client.open(self.url, headers=self.headers, modifier=self.sign_inplace)

    # -- signing -------------------------------------------------------------------------------

    def token(self, collection: str) -> Credential | None:
        """The collection's token, asked once and renewed before it expires; None when the
        server signs this account's assets one by one (rights that depend on each item)."""
        with self.lock:
            if collection in self.tokens:
                known = self.tokens[collection]
                if known is None or self.fresh(known.expires):
                    return known
            response = self.http.get(f"token/{quote(collection)}", headers=self.headers)
            if response.status_code == 200:
                body = response.json()
                expiry = body[EXPIRES]
                token: Credential | None = Credential(body["token"], timestamp(expiry), expiry)
            elif response.status_code == 403:
                token = None
            else:
                raise AccessRefused(f"{collection}: {reason(response)}")
            self.tokens[collection] = token
            return token

    def sign(self, href: str, expiry: str | None = None) -> tuple[str, str | None]:
        """A URL of an asset that reads as it is (GDAL, QGIS, httpx following redirects), and
        its expiry; hrefs of other servers, public files and fresh signatures are kept."""
        if not href.startswith(self.url):
            return href, expiry
        parts = urlsplit(href)
        query = dict(parse_qsl(parts.query))
        address = ITEM_ASSET.search(parts.path)
        if address is not None:
            collection, item, key = (unquote(part) for part in address.groups())
            token = self.tokens.get(collection)
            if (
                "token" in query
                and token
                and token.value == query["token"]
                and self.fresh(token.expires)
            ):
                return href, expiry
        elif query.keys() >= GRANT:
            if query["exp"].isdigit() and self.fresh(int(query["exp"])):
                return href, expiry
            collection, item, key = query["col"], query["item"], query["asset"]
        else:  # a public file (thumbnail, quicklook, metadata)
            return href, expiry
        plain = f"{self.url}collections/{quote(collection)}/items/{quote(item)}/assets/{quote(key)}"
        token = self.token(collection)
        if token is not None:
            return f"{plain}?{urlencode({'token': token.value})}", token.expiry
        response = self.http.get("sign", params={"href": plain}, headers=self.headers)
        if response.status_code != 200:
            raise AccessRefused(f"{collection}/{item} ({key}): {reason(response)}")
        body = response.json()
        return body["href"], body.get(EXPIRES)

    def sign_inplace(self, obj: Any) -> Any:
        """pystac-client's `modifier`: signs the assets of items, item collections and item
        dicts (a search's pages) in place."""
        if isinstance(obj, pystac.ItemCollection):
            for item in obj:
                self.sign_item(item)
        elif isinstance(obj, pystac.Item):
            self.sign_item(obj)
        elif isinstance(obj, dict):
            features = obj.get("features") if "features" in obj else [obj]
            for feature in features or []:
                if isinstance(feature, dict) and feature.get("type") == "Feature":
                    for asset in (feature.get("assets") or {}).values():
                        if isinstance(asset, dict) and isinstance(asset.get("href"), str):
                            self.sign_fields(asset)
        return obj

    def sign_item(self, item: pystac.Item) -> None:
        for asset in item.assets.values():
            asset.href, expiry = self.sign(asset.href, asset.extra_fields.get(EXPIRES))
            if expiry is not None:
                asset.extra_fields[EXPIRES] = expiry

    def sign_fields(self, asset: dict[str, Any]) -> None:
        """Signs an asset's fields (`href`, and its expiry when it has one)."""
        asset["href"], expiry = self.sign(asset["href"], asset.get(EXPIRES))
        if expiry is not None:
            asset[EXPIRES] = expiry
