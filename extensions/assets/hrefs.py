"""Turn the storage-relative hrefs kept in the catalogue into URLs a client can fetch."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

ASSETS_PATH = "assets"


def is_relative(href: str) -> bool:
    return "://" not in href and not href.startswith("/")


class AssetHrefs:
    """Rewrites each relative asset href of an item to this API's `/assets/…` route.

    Absolute hrefs (an upstream https:// or s3:// location) are left as they are.
    """

    def resolve_item(self, item: dict[str, Any], base_url: str) -> None:
        for asset in (item.get("assets") or {}).values():
            href = asset.get("href") if isinstance(asset, dict) else None
            if isinstance(href, str) and is_relative(href):
                asset["href"] = f"{base_url}{ASSETS_PATH}/{quote(href)}"
