"""The Chromium every browser test drives (Python Playwright, no browser download), found in
one place: `DINAMIS_CHROMIUM` when set, else Debian's `chromium` package (/usr/bin/chromium),
else Ubuntu's `chromium-browser`, a snap (/snap/bin/chromium, or the package's own
/usr/bin/chromium-browser)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
from playwright.sync_api import Browser, sync_playwright

CANDIDATES = ("/usr/bin/chromium", "/snap/bin/chromium", "/usr/bin/chromium-browser")
"""Debian's first, then Ubuntu's snap itself before the script its package puts in /usr/bin."""
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING = (
    "Chromium is missing: `make install-test` installs it (Debian's chromium, Ubuntu's "
    "chromium-browser), or name one with DINAMIS_CHROMIUM"
)


def chromium_path(
    environ: Mapping[str, str] = os.environ, candidates: Sequence[str] = CANDIDATES
) -> str | None:
    """The Chromium to launch: DINAMIS_CHROMIUM, else the first of `candidates` installed."""
    if chosen := environ.get("DINAMIS_CHROMIUM"):
        return chosen
    return next((c for c in candidates if os.access(c, os.X_OK)), None)


def profile_folder(executable: str, home: Path) -> Path | None:
    """Where Playwright must make the browser's profile: a snap sees a /tmp of its own, not
    the one Playwright writes the profile to, but reads its folder in the home directory
    (~/snap/chromium/common). None: Playwright's default (the system's /tmp) is right."""
    snapped = executable.startswith("/snap/") or (
        executable == "/usr/bin/chromium-browser" and os.access("/snap/bin/chromium", os.X_OK)
    )
    return home / "snap" / "chromium" / "common" / "playwright" if snapped else None


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium for a test module."""
    executable = chromium_path()
    if executable is None:
        pytest.fail(MISSING)
    folder = profile_folder(executable, Path.home())
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    # Playwright's driver makes the profile under its TMPDIR: set while the driver starts.
    with mock.patch.dict(os.environ, {"TMPDIR": str(folder)} if folder else {}):
        playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        yield browser
        browser.close()
    finally:
        playwright.stop()
