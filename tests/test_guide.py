"""The user guide (docs/guide/, issue 20, 5): it builds with `mkdocs build --strict` (broken
links and anchors fail), each page exists in French and English, and the code blocks marked
`<!-- run -->` run against a live `dinamis serve`, its address for `https://dinamis.example/`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
GUIDE = ROOT / "docs" / "guide"
EXAMPLE = "https://dinamis.example/"
RUN = re.compile(r"<!-- run -->\s*\n```(python|bash)\n(.*?)\n```", re.DOTALL)
LANGUAGES = ("fr", "en")


def blocks() -> list[pytest.ParameterSet]:
    found = []
    for page in sorted(GUIDE.glob("*/*.md")):
        text = page.read_text()
        for match in RUN.finditer(text):
            line = text[: match.start()].count("\n") + 1
            name = f"{page.relative_to(GUIDE)}:{line}"
            found.append(pytest.param(match.group(1), match.group(2), id=name))
    return found


def test_the_guide_builds_without_warnings(tmp_path: Path) -> None:
    mkdocs = Path(sys.executable).parent / "mkdocs"
    result = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    for language in LANGUAGES:
        prefix = "" if language == "fr" else "en/"
        assert (tmp_path / f"{prefix}viewer.html").is_file(), language


def test_each_page_exists_in_both_languages() -> None:
    pages = {lang: {p.name for p in (GUIDE / lang).glob("*.md")} for lang in LANGUAGES}
    assert pages["fr"] == pages["en"]
    assert {"index.md", "viewer.md", "stac.md", "ordering.md", "registry.md"} <= pages["fr"]


def test_there_are_blocks_to_run() -> None:
    assert len(blocks()) >= 2 * len(LANGUAGES)


@pytest.mark.parametrize(("language", "code"), blocks())
def test_a_code_block_runs(live_url: str, language: str, code: str) -> None:
    code = code.replace(EXAMPLE, live_url)
    command = (
        [sys.executable, "-c", code]
        if language == "python"
        else ["bash", "-euo", "pipefail", "-c", code]
    )
    bin_dir = str(Path(sys.executable).parent)
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "LANG": "C.UTF-8"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip(), "the block printed nothing"
