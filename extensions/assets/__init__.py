"""Asset storage: where asset files live, how their hrefs appear in responses, and their route."""

from extensions.assets.extension import AssetsExtension
from extensions.assets.hrefs import AssetHrefs
from extensions.assets.settings import StorageSettings
from extensions.assets.storage import AssetNotFound, LocalStorage, OutsideStorage

__all__ = [
    "AssetHrefs",
    "AssetNotFound",
    "AssetsExtension",
    "LocalStorage",
    "OutsideStorage",
    "StorageSettings",
]
