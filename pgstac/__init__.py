"""Database side of DINAMIS STAC: the embedded cluster, migrations, collections, queryables.

pgstac itself is never edited: it is installed and upgraded by pypgstac, pinned to the exact
version below, and used through its SQL API.
"""

import pypgstac

PGSTAC_VERSION = "0.10.0"
"""The pgstac schema version the pinned pypgstac migrates to (and the API is tested against)."""

if pypgstac.__version__ != PGSTAC_VERSION:  # pragma: no cover - guards a broken install
    raise ImportError(
        f"pypgstac {pypgstac.__version__} is installed but DINAMIS is pinned to pgstac "
        f"{PGSTAC_VERSION}: reinstall with `make install`."
    )

__all__ = ["PGSTAC_VERSION"]
