"""Asset hrefs as each caller sees them, and the audit of the signatures issued.

The catalogue keeps hrefs relative to the storage root. In responses:
- thumbnails, quicklooks and metadata get a stable signed URL of this API (public);
- a data asset the caller may download gets a signed URL of this API (`/assets/…`) with its
  expiry (`dinamis:expires`): every use is checked and audited, then served (a local file)
  or redirected to a presigned GET of a few minutes (S3);
- a data asset the caller may not download gets this item's asset address
  (`…/items/{id}/assets/{key}`), which says why (401/403) and reveals no storage location.

An href that is not relative (an item written with an absolute path or URL) is never shown
as it is, unless the asset is public and on the web: a data asset's address redirects to it
only for a caller who may download it, and a local path outside the storage is not served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from cachetools import TTLCache

from extensions.access import ACCESS, DOWNLOADABLE, Rights
from extensions.assets.storage import Storage
from extensions.observability import SIGNATURES
from extensions.signing import Grant, Signer

if TYPE_CHECKING:
    from extensions.database import Database

ASSETS_PATH = "assets"
PUBLIC_ROLES = frozenset({"thumbnail", "overview", "metadata"})
EXPIRES = "dinamis:expires"


def is_relative(href: str) -> bool:
    return "://" not in href and not href.startswith("/")


def is_web(href: str) -> bool:
    """An href another server answers (which we may redirect to, never read ourselves)."""
    return href.startswith(("https://", "http://"))


def is_public(asset: dict[str, Any]) -> bool:
    roles = set(asset.get("roles") or ())
    return bool(roles) and roles <= PUBLIC_ROLES


def item_asset_url(base_url: str, collection: str, item: str, key: str) -> str:
    return (
        f"{base_url}collections/{quote(collection)}/items/{quote(item)}/{ASSETS_PATH}/{quote(key)}"
    )


class AssetHrefs:
    def __init__(self, signer: Signer, storage: Storage) -> None:
        self.signer = signer
        self.storage = storage
        # A map view asks for tens of tiles of the same image at once: where the API reads an
        # asset (a path, or a presigned URL that GDAL's cache then recognises) is kept a
        # moment, by (collection, item, asset key).
        self.read_locations: TTLCache[tuple[str, str, str], str] = TTLCache(maxsize=4096, ttl=30)
        # Whether the account a signed URL was made for may still download its item, by
        # (account, collection, item): the bound on revocation.
        self.rechecked: TTLCache[tuple[int, str, str], str] = TTLCache(
            maxsize=16384, ttl=signer.settings.recheck_seconds
        )

    def public_url(self, base_url: str, path: str) -> str:
        return f"{base_url}{ASSETS_PATH}/{quote(path)}?{urlencode(self.signer.public(path))}"

    def signed_url(self, base_url: str, grant: Grant) -> str:
        return f"{base_url}{ASSETS_PATH}/{quote(grant.path)}?{urlencode(self.signer.sign(grant))}"

    def grant(
        self,
        rights: Rights,
        path: str,
        collection: str,
        item: str,
        key: str,
        seconds: int | None = None,
    ) -> Grant:
        identity = rights.identity
        return Grant(
            path=path,
            collection=collection,
            item=item,
            asset=key,
            account=identity.account_id if identity else None,
            entity=identity.entity_id if identity else None,
            expires=self.signer.expires(seconds),
        )

    def present(
        self, item: dict[str, Any], base_url: str, verdict: str, rights: Rights
    ) -> list[Grant]:
        """Rewrite the item's asset hrefs for this caller; returns the signatures issued."""
        collection, item_id = item.get("collection"), item.get("id")
        if isinstance(item.get("properties"), dict):
            item["properties"][ACCESS] = verdict
        grants: list[Grant] = []
        for key, asset in (item.get("assets") or {}).items():
            href = asset.get("href") if isinstance(asset, dict) else None
            if not isinstance(href, str):
                continue
            if is_public(asset) and is_web(href):
                continue
            if is_public(asset) and is_relative(href):
                asset["href"] = self.public_url(base_url, href)
            elif verdict == DOWNLOADABLE and is_relative(href) and collection and item_id:
                grant = self.grant(rights, href, collection, item_id, key)
                asset["href"] = self.signed_url(base_url, grant)
                asset[EXPIRES] = grant.expiry
                grants.append(grant)
            elif collection and item_id:
                asset["href"] = item_asset_url(base_url, collection, item_id, key)
            else:  # a `fields` subset without the ids: no address to give
                asset.pop("href", None)
        return grants


async def record_signatures(database: Database, grants: list[Grant], via: str) -> None:
    """Every signature issued, in one statement."""
    if not grants:
        return
    SIGNATURES.labels(via).inc(len(grants))
    async with database.write() as conn:
        await conn.execute(
            """
            INSERT INTO dinamis.signatures
                (account_id, entity_id, collection, item, asset, expires_at, via)
            SELECT a, e, c, i, k, x, $7
            FROM unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
                AS t(a, e, c, i, k, x)
            """,
            [g.account for g in grants],
            [g.entity for g in grants],
            [g.collection for g in grants],
            [g.item for g in grants],
            [g.asset for g in grants],
            [g.expires_at for g in grants],
            via,
        )
