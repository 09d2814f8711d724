"""Which Chromium the browser tests launch, and which package `make test` installs for it:
Debian's `chromium`, Ubuntu's `chromium-browser` (a snap). Only the choice is tested here: no
Ubuntu machine runs these tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.browser import chromium_path, profile_folder

PACKAGE = Path(__file__).parents[1] / "scripts" / "chromium-package.sh"
DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n'
UBUNTU = 'PRETTY_NAME="Ubuntu 24.04 LTS"\nID=ubuntu\nID_LIKE=debian\n'
MINT = 'NAME="Linux Mint"\nID=linuxmint\nID_LIKE="ubuntu debian"\n'


def installed(folder: Path, *names: str) -> list[str]:
    """Executables standing for /usr/bin/chromium, /snap/bin/chromium… in that order."""
    paths = []
    for name in names:
        path = folder / name
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
        paths.append(str(path))
    return paths


def test_the_first_chromium_installed_is_launched(tmp_path: Path) -> None:
    debian, snap, wrapper = installed(tmp_path, "chromium", "snap-chromium", "chromium-browser")
    assert chromium_path({}, [debian, snap, wrapper]) == debian
    assert chromium_path({}, [str(tmp_path / "absent"), snap, wrapper]) == snap
    not_executable = tmp_path / "not-executable"
    not_executable.write_text("")
    assert chromium_path({}, [str(not_executable), wrapper]) == wrapper
    assert chromium_path({}, [str(tmp_path / "absent")]) is None
    assert chromium_path({"DINAMIS_CHROMIUM": "/opt/chromium/chrome"}, [debian]) == (
        "/opt/chromium/chrome"
    )


def test_a_snap_has_its_profile_made_in_the_home_directory(tmp_path: Path) -> None:
    assert profile_folder("/snap/bin/chromium", tmp_path) == (
        tmp_path / "snap" / "chromium" / "common" / "playwright"
    )
    assert profile_folder("/usr/bin/chromium", tmp_path) is None


@pytest.mark.parametrize(
    ("release", "package"),
    [
        (DEBIAN, "chromium"),
        (UBUNTU, "chromium-browser"),
        (MINT, "chromium-browser"),
        (None, "chromium"),
    ],
)
def test_the_package_follows_os_release(tmp_path: Path, release: str | None, package: str) -> None:
    path = tmp_path / "os-release"
    if release is not None:
        path.write_text(release)
    chosen = subprocess.run([str(PACKAGE), str(path)], capture_output=True, text=True, check=True)
    assert chosen.stdout == f"{package}\n"
