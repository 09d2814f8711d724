"""Asset storages: a local folder, or an S3 bucket read through presigned URLs."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import IO, Any

import anyio
from botocore.exceptions import BotoCoreError, ClientError

from extensions.assets.settings import S3Settings, StorageSettings
from extensions.i18n import N_, _

OUTSIDE = N_("%(href)s est hors du stockage des fichiers.")
MISSING = N_("Pas de fichier à %(href)s.")


class AssetNotFound(LookupError):
    """No asset file at that path."""


class OutsideStorage(ValueError):
    """A path that would leave the storage root (`..`, absolute paths, symlinks out)."""


class LocalStorage:
    """Asset files under a local folder, served by the API itself."""

    remote = False

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def place(self, href: str) -> Path:
        """Where a storage-relative href is; refuses anything that escapes the root."""
        candidate = (self.root / href.lstrip("/")).resolve()
        if not candidate.is_relative_to(self.root):
            raise OutsideStorage(_(OUTSIDE, href=repr(href)))
        return candidate

    def path(self, href: str) -> Path:
        """The file of a storage-relative href, which must exist."""
        candidate = self.place(href)
        if not candidate.is_file():
            raise AssetNotFound(_(MISSING, href=repr(href)))
        return candidate

    def presign(self, href: str, seconds: int) -> str:
        raise NotImplementedError("local files are served by the API's signed /assets URLs")

    def read_location(self, href: str, seconds: int) -> str:
        """Where the API itself (GDAL) reads the file: its path."""
        return str(self.path(href))

    def upload(self, folder: Path, href: str) -> None:
        """Files written by a worker under the root are where the API reads them already."""
        if not folder.resolve().is_relative_to(self.root):
            raise OutsideStorage(_(OUTSIDE, href=str(folder)))

    def save(self, href: str, file: IO[bytes]) -> None:
        """Keep a file (an upload, a generated document) at `href`, replacing any there."""
        path = self.place(href)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            shutil.copyfileobj(file, out)

    def read(self, href: str) -> bytes:
        return self.path(href).read_bytes()

    def remove(self, href: str) -> None:
        self.place(href).unlink(missing_ok=True)


class S3Storage:
    """Asset files under an S3 prefix: clients read them through boto3 presigned GET URLs."""

    remote = True

    def __init__(self, url: str, s3: S3Settings | None = None, client: Any = None) -> None:
        import boto3
        from botocore.config import Config

        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        self.bucket, self.prefix = bucket, prefix.strip("/")
        options = (s3 or S3Settings()).client_options()
        self.client = client or boto3.client(
            "s3", config=Config(signature_version="s3v4"), **options
        )

    def key(self, href: str) -> str:
        parts = [p for p in href.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise OutsideStorage(_(OUTSIDE, href=repr(href)))
        return "/".join([self.prefix, *parts] if self.prefix else parts)

    def presign(self, href: str, seconds: int) -> str:
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self.key(href)},
            ExpiresIn=max(1, seconds),
        )
        return url

    def read_location(self, href: str, seconds: int) -> str:
        """Where the API itself (GDAL) reads the file: a presigned URL."""
        return self.presign(href, seconds)

    def upload(self, folder: Path, href: str) -> None:
        """Copy the files of a local folder (a delivery a worker unpacked) under `href`, so
        that every API process reads them; copying again replaces the same objects."""
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            key = self.key(f"{href}/{path.relative_to(folder).as_posix()}")
            self.client.upload_file(str(path), self.bucket, key)

    def save(self, href: str, file: IO[bytes]) -> None:
        """Keep a file (an upload, a generated document) at `href`, replacing any there."""
        self.client.upload_fileobj(file, self.bucket, self.key(href))

    def read(self, href: str) -> bytes:
        try:
            found = self.client.get_object(Bucket=self.bucket, Key=self.key(href))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise AssetNotFound(_(MISSING, href=repr(href))) from exc
            raise
        content: bytes = found["Body"].read()
        return content

    def remove(self, href: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(href))

    async def size(self, href: str) -> int:
        """The object's size in bytes (0 when it cannot be read), for the audit."""
        try:
            head = await anyio.to_thread.run_sync(
                lambda: self.client.head_object(Bucket=self.bucket, Key=self.key(href))
            )
        except (BotoCoreError, ClientError):  # the audit must not fail a download
            return 0
        return int(head.get("ContentLength", 0))


Storage = LocalStorage | S3Storage


def make_storage(settings: StorageSettings) -> Storage:
    return S3Storage(settings.s3_url) if settings.s3_url else LocalStorage(settings.local_root)
