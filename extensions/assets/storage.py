"""Local asset storage: relative hrefs resolved under one root folder, never outside it."""

from __future__ import annotations

from pathlib import Path


class AssetNotFound(LookupError):
    """No asset file at that path."""


class OutsideStorage(ValueError):
    """A path that would leave the storage root (`..`, absolute paths, symlinks out)."""


class LocalStorage:
    """Asset files under a local folder."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def path(self, href: str) -> Path:
        """The file of a storage-relative href; refuses anything that escapes the root."""
        candidate = (self.root / href.lstrip("/")).resolve()
        if not candidate.is_relative_to(self.root):
            raise OutsideStorage(f"{href!r} is outside the asset storage")
        if not candidate.is_file():
            raise AssetNotFound(f"No asset at {href!r}")
        return candidate
