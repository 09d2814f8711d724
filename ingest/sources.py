"""Where products are harvested from: a folder, a zip of products, or an S3 prefix.

A source lists the metadata files it holds, each with a cheap fingerprint that changes when
the file does (size + modification time, zip CRC, S3 ETag), and reads files by key. Sources
are described by a picklable `SourceSpec`, so each parsing process opens its own.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from ingest.dimap import is_metadata_file


class SourceError(Exception):
    """The source cannot be opened or listed."""


@dataclass(frozen=True)
class Candidate:
    key: str  # path relative to the source root, "/"-separated
    fingerprint: str


@dataclass
class Listing:
    """One pass over the source: its metadata files, and every file (to check references)."""

    candidates: list[Candidate] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)

    def add(self, key: str, fingerprint: str) -> None:
        self.keys.add(key)
        if is_metadata_file(key):
            self.candidates.append(Candidate(key, fingerprint))


class Source(Protocol):
    def listing(self) -> Listing: ...
    def read(self, key: str) -> bytes: ...


@dataclass(frozen=True)
class SourceSpec:
    """What `open_source` needs, in a form worker processes can receive."""

    location: str
    s3: dict[str, Any] = field(default_factory=dict)  # boto3 client options


def open_source(spec: SourceSpec) -> Source:
    if spec.location.startswith("s3://"):
        return S3Source(spec.location, spec.s3)
    path = Path(spec.location)
    if path.is_file() and zipfile.is_zipfile(path):
        return ZipSource(path)
    if path.is_dir():
        return FolderSource(path)
    raise SourceError(f"{spec.location}: not a folder, a zip file or an s3:// URL")


class FolderSource:
    def __init__(self, root: Path) -> None:
        self.root = root

    def listing(self) -> Listing:
        listing = Listing()
        stack = [""]  # folders relative to the root, "/"-terminated
        while stack:
            folder = stack.pop()
            with os.scandir(f"{self.root}/{folder}") as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(f"{folder}{entry.name}/")
                    elif entry.is_file():
                        stat = entry.stat()
                        listing.add(folder + entry.name, f"{stat.st_size}:{stat.st_mtime_ns}")
        return listing

    def read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()


class ZipSource:
    def __init__(self, path: Path) -> None:
        self.path = path

    @cached_property
    def archive(self) -> zipfile.ZipFile:
        return zipfile.ZipFile(self.path)

    def listing(self) -> Listing:
        listing = Listing()
        for info in self.archive.infolist():
            if not info.is_dir():
                listing.add(info.filename, f"{info.file_size}:{info.CRC:08x}")
        return listing

    def read(self, key: str) -> bytes:
        return self.archive.read(key)


class S3Source:
    """`s3://bucket/prefix`, listed page by page (1 000 keys per request)."""

    def __init__(self, url: str, options: dict[str, Any]) -> None:
        parts = urlsplit(url)
        if not parts.netloc:
            raise SourceError(f"{url}: no bucket")
        self.bucket = parts.netloc
        self.prefix = parts.path.lstrip("/")
        if self.prefix and not self.prefix.endswith("/"):
            self.prefix += "/"
        self.options = options

    @cached_property
    def client(self) -> Any:
        import boto3

        return boto3.client("s3", **self.options)

    def listing(self) -> Listing:
        from botocore.exceptions import BotoCoreError, ClientError

        listing = Listing()
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    etag = obj["ETag"].strip('"')
                    listing.add(obj["Key"][len(self.prefix) :], f"{obj['Size']}:{etag}")
        except (BotoCoreError, ClientError) as exc:
            raise SourceError(f"s3://{self.bucket}/{self.prefix}: {exc}") from exc
        return listing

    def read(self, key: str) -> bytes:
        body = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"]
        return bytes(body.read())
