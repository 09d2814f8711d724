"""Uploaded files: R&D project descriptions and relay conventions (PDF, 25 MB at most), kept
in the registry's storage (`registry_plugin.domain.files`)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.datastructures import UploadFile

from extensions.errors import PayloadTooLarge, UnsupportedMediaType
from extensions.i18n import N_, _
from registry_plugin.domain import files
from registry_plugin.domain.adhesions import Upload
from registry_plugin.settings import RegistrySettings

if TYPE_CHECKING:
    from extensions.assets import Storage
    from extensions.settings import Settings

CHUNK = 1024 * 1024
DESCRIPTION = N_("Le fichier de description")
CONVENTION = N_("La convention")


def too_large(what: str, max_mb: int) -> str:
    return _("%(what)s dépasse %(max_mb)s Mo.", what=_(what), max_mb=max_mb)


def file_limit(settings: Settings, what: str) -> tuple[int, str]:
    """The files accepted (`accepts_file`), and the refusal of a larger one."""
    max_mb = settings.plugin(RegistrySettings).upload_max_mb
    return max_mb * 2**20, too_large(what, max_mb)


def description_file(settings: Settings) -> tuple[int, str]:
    return file_limit(settings, DESCRIPTION)


def convention_file(settings: Settings) -> tuple[int, str]:
    return file_limit(settings, CONVENTION)


async def save_description(
    settings: RegistrySettings, storage: Storage, file: UploadFile
) -> Upload:
    return await save_pdf(settings, storage, file, "missions", DESCRIPTION)


async def save_convention(settings: RegistrySettings, storage: Storage, file: UploadFile) -> Upload:
    return await save_pdf(settings, storage, file, "conventions", CONVENTION)


async def save_pdf(
    settings: RegistrySettings, storage: Storage, file: UploadFile, folder: str, what: str
) -> Upload:
    """Store the file if it is a PDF within the size limit; nothing is stored otherwise (it
    is checked whole in a spooled copy before the storage sees it)."""
    limit = settings.upload_max_mb * 2**20
    head = await file.read(5)
    if head != b"%PDF-":
        raise UnsupportedMediaType(_("%(what)s doit être un PDF.", what=_(what)))
    with tempfile.SpooledTemporaryFile(max_size=8 * CHUNK) as spool:
        spool.write(head)
        size = len(head)
        while chunk := await file.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(too_large(what, settings.upload_max_mb))
            spool.write(chunk)
        spool.seek(0)
        href = files.new_href(folder)
        await files.save(storage, href, spool)
    return Upload(href, Path(file.filename or f"{folder}.pdf").name)
