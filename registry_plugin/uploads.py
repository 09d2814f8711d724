"""Uploaded files: R&D project descriptions and relay conventions (PDF, 25 MB at most)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.datastructures import UploadFile

from extensions.errors import PayloadTooLarge, UnsupportedMediaType
from extensions.i18n import N_, _
from registry_plugin.domain.adhesions import Upload
from registry_plugin.settings import RegistrySettings

if TYPE_CHECKING:
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


async def save_description(settings: RegistrySettings, file: UploadFile) -> Upload:
    return await save_pdf(settings, file, "missions", DESCRIPTION)


async def save_convention(settings: RegistrySettings, file: UploadFile) -> Upload:
    return await save_pdf(settings, file, "conventions", CONVENTION)


async def save_pdf(settings: RegistrySettings, file: UploadFile, folder: str, what: str) -> Upload:
    """Store the file if it is a PDF within the size limit; nothing is kept otherwise."""
    limit = settings.upload_max_mb * 2**20
    head = await file.read(5)
    if head != b"%PDF-":
        raise UnsupportedMediaType(_("%(what)s doit être un PDF.", what=_(what)))
    directory = settings.files_root / folder
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{secrets.token_hex(12)}.pdf"
    size = len(head)
    try:
        with path.open("wb") as out:
            out.write(head)
            while chunk := await file.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(too_large(what, settings.upload_max_mb))
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Upload(path, Path(file.filename or f"{folder}.pdf").name)
