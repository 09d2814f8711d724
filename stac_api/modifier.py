"""Signing for pystac-client, with a personal API key::

    from pystac_client import Client
    from stac_api.modifier import DinamisSigner

    signer = DinamisSigner("https://dinamis.example/", api_key="dnk_…")
    catalogue = Client.open(signer.url, headers=signer.headers, modifier=signer)
    item = next(catalogue.search(collections=["pleiades"], max_items=1).items())
    item.assets["data"].href  # a signed URL: GDAL, rasterio, QGIS or httpx read it as it is

Items found with the key already carry signed data hrefs; the modifier signs those that do
not (an item fetched anonymously) and renews signatures about to expire, through `GET /sign`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

EXPIRES = "dinamis:expires"
MARGIN = timedelta(minutes=2)


class DinamisSigner:
    def __init__(self, url: str, api_key: str, client: httpx.Client | None = None) -> None:
        self.url = url.rstrip("/") + "/"
        self.headers = {"X-API-Key": api_key}
        self.client = client or httpx.Client(headers=self.headers, timeout=30)

    def __call__(self, obj: Any) -> Any:
        """pystac-client's modifier: signs in place Items, ItemCollections and item dicts."""
        items = getattr(obj, "items", None)
        if obj.__class__.__name__ == "ItemCollection" and items is not None:
            for item in items:
                self.sign_item(item)
        elif hasattr(obj, "assets") and hasattr(obj, "properties"):
            self.sign_item(obj)
        elif isinstance(obj, dict):
            for feature in obj.get("features", [obj] if obj.get("type") == "Feature" else []):
                for asset in (feature.get("assets") or {}).values():
                    self.sign_asset_dict(asset)
        return obj

    def sign_item(self, item: Any) -> None:
        for asset in item.assets.values():
            if self.needs_signature(asset.href, asset.extra_fields.get(EXPIRES)):
                asset.href, asset.extra_fields[EXPIRES] = self.sign(asset.href)

    def sign_asset_dict(self, asset: dict[str, Any]) -> None:
        if self.needs_signature(asset.get("href", ""), asset.get(EXPIRES)):
            asset["href"], asset[EXPIRES] = self.sign(asset["href"])

    def needs_signature(self, href: str, expires: str | None) -> bool:
        if not href.startswith(self.url):
            return False
        if "/items/" in href and "/assets/" in href:  # the address of a data asset
            return True
        if expires is None:
            return False
        return datetime.fromisoformat(expires.replace("Z", "+00:00")) - MARGIN < datetime.now(UTC)

    def sign(self, href: str) -> tuple[str, str]:
        response = self.client.get(f"{self.url}sign", params={"href": href})
        if response.status_code != 200:
            raise PermissionError(f"{href}: {response.json().get('description', response.text)}")
        signed = response.json()
        return signed["href"], signed[EXPIRES]
