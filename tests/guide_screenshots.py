"""The user guide's screenshots (docs/guide/img/), taken in Chromium from the tests' live demo:
`nice -n 19 .venv/bin/pytest tests/guide_screenshots.py` (not part of the suite: it rewrites
the images). Each is reduced to a palette PNG of at most 150 KB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.test_registry_browser import browser, sign_in

__all__ = ["browser"]

IMAGES = Path(__file__).parents[1] / "docs" / "guide" / "img"
SIZE = {"width": 1280, "height": 800}
LIMIT = 150_000
BRUCE = "bruce.wayne@formation.example"


def save(page: Page, name: str) -> None:
    """The page as a PNG of at most LIMIT bytes: fewer colours, then smaller, until it fits."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / f"{name}.png"
    page.screenshot(path=path)
    image = Image.open(path).convert("RGB")
    for colours, scale in ((128, 1.0), (64, 1.0), (64, 0.8), (32, 0.7), (32, 0.5)):
        size = (int(image.width * scale), int(image.height * scale))
        image.resize(size).quantize(colours).save(path, optimize=True)
        if path.stat().st_size <= LIMIT:
            return
    raise AssertionError(f"{path} is over {LIMIT} bytes")


@pytest.fixture
def page(browser: Browser, live_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=live_url.rstrip("/"), viewport=SIZE, locale="fr-FR")
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    context.close()


def test_viewer(page: Page) -> None:
    page.goto("/catalogue?place=departement:34", wait_until="domcontentloaded")
    expect(page.get_by_test_id("total")).not_to_have_text("…", timeout=60_000)
    save(page, "viewer")


def test_stac_browser(page: Page) -> None:
    page.goto("/browser/#/search", wait_until="domcontentloaded")
    page.get_by_role("tab", name="Search for Items").click()
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("a[href*='/items/']").first).to_be_visible(timeout=60_000)
    save(page, "stac-browser")


def test_account(page: Page) -> None:
    sign_in(page, BRUCE)
    page.goto("/compte", wait_until="domcontentloaded")
    save(page, "account")


def test_ordering_archive(page: Page) -> None:
    sign_in(page, BRUCE)
    page.goto("/commandes/archive", wait_until="domcontentloaded")
    save(page, "ordering-archive")
