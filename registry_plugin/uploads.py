"""Uploaded files: R&D project descriptions and relay conventions (PDF, 25 MB at most), kept
in the registry's storage (`registry_plugin.domain.files`)."""

from __future__ import annotations

import os
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
    """Store the file if it is a PDF within the size limit; nothing is stored otherwise (the
    upload is whole, in Starlette's spooled file, before the storage sees it)."""
    if await file.read(5) != b"%PDF-":
        raise UnsupportedMediaType(_("%(what)s doit être un PDF.", what=_(what)))
    size = file.size if file.size is not None else file.file.seek(0, os.SEEK_END)
    if size > settings.upload_max_mb * 2**20:
        raise PayloadTooLarge(too_large(what, settings.upload_max_mb))
    await file.seek(0)
    href = files.new_href(folder)
    await files.save(storage, href, file.file)
    return Upload(href, Path(file.filename or f"{folder}.pdf").name)
