"""The registry's files: uploaded project descriptions and relay conventions, generated acts
and licences. They are kept in the asset storage under `registry/` (a local folder by default,
the S3 bucket when one is configured), so that any API process serves, and any worker mails,
what another process stored; rows and mails name them by that storage-relative href.

Rows written before this kept an absolute path on the disk of the process that received the
file: such a value is still read and removed there (an absolute path is never an href), so
nothing has to be moved; copying those files to the storage and the row to its href is enough
to share them too."""

from __future__ import annotations

import hashlib
import io
import secrets
from pathlib import Path
from typing import IO

import anyio

from extensions.assets import AssetNotFound, Storage
from extensions.assets.storage import MISSING
from extensions.i18n import _

PREFIX = "registry"


def new_href(folder: str, suffix: str = ".pdf") -> str:
    """A fresh, unguessable href for an uploaded file."""
    return f"{PREFIX}/{folder}/{secrets.token_hex(12)}{suffix}"


async def save(storage: Storage, href: str, file: IO[bytes]) -> None:
    await anyio.to_thread.run_sync(storage.save, href, file)


async def store(storage: Storage, name: str, content: bytes) -> str:
    """Keep a generated document; its href carries a digest of its content (`{digest}` in
    `name`), so that writing it again writes the same."""
    digest = hashlib.sha256(content).hexdigest()[:12]
    href = f"{PREFIX}/{name.replace('{digest}', digest)}"
    await save(storage, href, io.BytesIO(content))
    return href


async def read(storage: Storage, stored: str) -> bytes:
    if Path(stored).is_absolute():  # written before the storage: on this disk, if on any
        try:
            return await anyio.Path(stored).read_bytes()
        except FileNotFoundError as exc:
            raise AssetNotFound(_(MISSING, href=Path(stored).name)) from exc
    return await anyio.to_thread.run_sync(storage.read, stored)


async def remove(storage: Storage, stored: str | None) -> None:
    if not stored:
        return
    if Path(stored).is_absolute():
        await anyio.Path(stored).unlink(missing_ok=True)
    else:
        await anyio.to_thread.run_sync(storage.remove, stored)
