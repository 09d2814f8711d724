"""Asset storage: where asset files live, how their hrefs appear to each caller, the signed
routes that serve them, and their audit."""

from extensions.assets.extension import AssetsExtension
from extensions.assets.hrefs import AssetHrefs, record_signatures
from extensions.assets.settings import S3Settings, StorageSettings
from extensions.assets.storage import (
    AssetNotFound,
    LocalStorage,
    OutsideStorage,
    S3Storage,
    Storage,
    make_storage,
)

__all__ = [
    "AssetHrefs",
    "AssetNotFound",
    "AssetsExtension",
    "LocalStorage",
    "OutsideStorage",
    "S3Settings",
    "S3Storage",
    "Storage",
    "StorageSettings",
    "make_storage",
    "record_signatures",
]
